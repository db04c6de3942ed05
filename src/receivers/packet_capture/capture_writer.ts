// The pcapng side of one capture: its file set, one interface per cgroup whose packets it holds
// (the interface's name and description say whose they are), the packets and bytes written.
import { hostname, release } from 'node:os';
import { LINKTYPE_RAW, type PacketDirection } from '../../pcapng/blocks';
import { PcapngFileSet } from '../../pcapng/file_set';
import type { MonotonicClock } from '../../host/monotonic_clock';
import { parseContainerCgroup } from '../../processors/k8s_attributes/cgroup_path';
import { VERSION } from '../../version';
import { CONSTANTS, RECORD } from './layout';

/** A ring record (struct packet_capture_record) as read. */
export interface CaptureRecord {
  readonly timestampNs: bigint;
  readonly cgroupId: bigint;
  readonly triggerId: bigint;
  readonly originalLength: number;
  readonly direction: PacketDirection;
  readonly kind: number;
  readonly reason: number;
  readonly data: Buffer;
}

const DIRECTIONS: Record<number, PacketDirection> = { [CONSTANTS.PACKET_CAPTURE_INBOUND]: 'inbound', [CONSTANTS.PACKET_CAPTURE_OUTBOUND]: 'outbound' };

/** Decodes the record at `offset` of a ring batch; the data is a view of the batch. */
export function decodeRecord(batch: Buffer, offset: number, length: number): CaptureRecord | undefined {
  if (length < RECORD.data) return undefined;
  const capLen = batch.readUInt32LE(offset + RECORD.cap_len);
  return {
    timestampNs: batch.readBigUInt64LE(offset + RECORD.timestamp_ns),
    cgroupId: batch.readBigUInt64LE(offset + RECORD.cgroup_id),
    triggerId: batch.readBigUInt64LE(offset + RECORD.trigger_id),
    originalLength: batch.readUInt32LE(offset + RECORD.orig_len),
    direction: DIRECTIONS[batch.readUInt8(offset + RECORD.direction)] ?? 'unknown',
    kind: batch.readUInt8(offset + RECORD.kind),
    reason: batch.readUInt8(offset + RECORD.reason),
    data: batch.subarray(offset + RECORD.data, offset + RECORD.data + Math.min(capLen, length - RECORD.data)),
  };
}

export interface CaptureWriterOptions {
  readonly directory: string;
  readonly stem: string;
  readonly maxFileBytes: number;
  readonly maxFiles: number;
  /** Section header comments: the capture, its selection, its bounds, its trigger. */
  readonly comments: readonly string[];
  /** IDB snaplen. */
  readonly snaplen: number;
  /** What the hook is and what the selection was, for the interface descriptions. */
  readonly interfaceNote: string;
  readonly clock: MonotonicClock;
  readonly describeCgroup: (id: bigint) => string | undefined;
}

export class CaptureWriter {
  private readonly files: PcapngFileSet;
  private readonly interfaces = new Map<bigint, number>();
  packets = 0;
  bytes = 0;

  constructor(private readonly options: CaptureWriterOptions) {
    this.files = new PcapngFileSet({
      directory: options.directory,
      stem: options.stem,
      maxFileBytes: options.maxFileBytes,
      maxFiles: options.maxFiles,
      header: { application: `tcpscope ${VERSION}`, os: `Linux ${release()}`, hardware: hostname(), comments: options.comments },
    });
    // Every capture leaves a readable file, also one that took no packet.
    this.files.ensureFile();
  }

  get paths(): readonly string[] {
    return this.files.files;
  }

  write(record: CaptureRecord, comment?: string): void {
    this.files.writePacket({
      interfaceId: this.interfaceFor(record.cgroupId),
      timestampNs: this.wallNs(record.timestampNs),
      data: record.data,
      originalLength: record.originalLength,
      direction: record.direction,
      ...(comment !== undefined ? { comment } : {}),
    });
    this.packets++;
    this.bytes += record.data.length;
  }

  /** Writes the packets of a batch (they are buffered until then). */
  flush(): void {
    this.files.flush();
  }

  close(): void {
    this.files.close();
  }

  private wallNs(monotonicNs: bigint): bigint {
    const [seconds, nanos] = this.options.clock.toHrTime(monotonicNs);
    return BigInt(seconds) * 1_000_000_000n + BigInt(nanos);
  }

  private interfaceFor(cgroupId: bigint): number {
    let id = this.interfaces.get(cgroupId);
    if (id !== undefined) return id;
    const path = this.options.describeCgroup(cgroupId);
    id = this.files.addInterface({
      linkType: LINKTYPE_RAW,
      snaplen: this.options.snaplen,
      name: `cgroup:${cgroupId}`,
      description: `packets of sockets in cgroup ${path ?? cgroupId}${path ? workloadOf(path) : ''} (cgroup_skb ingress/egress), ${this.options.interfaceNote}`,
    });
    this.interfaces.set(cgroupId, id);
    return id;
  }
}

/** The pod and container a cgroup path names (kubelet's and the runtimes' layouts), as `, k8s.pod.uid ...`. */
export function workloadOf(cgroupPath: string): string {
  const identity = parseContainerCgroup(cgroupPath);
  const parts = [identity.podUid && `k8s.pod.uid ${identity.podUid}`, identity.containerId && `container.id ${identity.containerId}`].filter(Boolean);
  return parts.length > 0 ? `, ${parts.join(', ')}` : '';
}

/** Section header comments every capture's files start with. */
export function captureComments(id: string, name: string | undefined, reason: string, selection: string, bounds: object, extra: readonly string[] = []): string[] {
  return [`capture ${id}${name ? ` (${name})` : ''}, reason ${reason}`, `selection ${selection}`, `bounds ${JSON.stringify(bounds)}`, ...extra];
}
