// Decodes tcp_lifecycle_event records (bpf/tcp_lifecycle.h) from a ring buffer batch.
import { formatAddress, type IpAddress } from '../../host/ip_address';
import { recordConnectionHash } from '../common/record_connection_hash';
import type { HandshakeRole } from '../common/workload_attributes';
import { CONSTANTS, EVENT_FIELDS as F, EVENT_SIZE } from './layout';

export type { HandshakeRole };

export type LifecycleEventKind = 'connect' | 'accept' | 'close';

/** How a connection ended (tcp.connection.end), TCP_LIFECYCLE_END_* in the kernel. */
export type ConnectionEnd = 'fin' | 'reset_sent' | 'reset_received' | 'timeout' | 'abort';

export interface LifecycleEvent {
  readonly kind: LifecycleEventKind;
  readonly role: HandshakeRole;
  /** CLOCK_MONOTONIC nanoseconds. */
  readonly timestampNs: bigint;
  readonly cgroupId: bigint;
  readonly netnsInode: number;
  /** 0 when unknown (a server connection closed before any process accepted it). */
  readonly pid: number;
  readonly comm: string;
  readonly local: IpAddress;
  readonly localPort: number;
  readonly peer: IpAddress;
  readonly peerPort: number;
  /** connect only: SYN sent -> ESTABLISHED. */
  readonly handshakeNs?: bigint;
  /** Present on close only. */
  readonly close?: CloseFields;
  /** The kernel's connection hash of the tuple in [0, 1) (the sampling processor's connectionUnit). */
  readonly connectionHash?: number;
}

export interface CloseFields {
  readonly durationNs: bigint;
  readonly bytesSent: bigint;
  readonly bytesReceived: bigint;
  readonly segmentsSent: number;
  readonly segmentsReceived: number;
  readonly retransmits: number;
  readonly srttUs: number;
  readonly end: ConnectionEnd;
}

export const KINDS: Record<number, LifecycleEventKind> = {
  [CONSTANTS.TCP_LIFECYCLE_EVENT_CONNECT]: 'connect',
  [CONSTANTS.TCP_LIFECYCLE_EVENT_ACCEPT]: 'accept',
  [CONSTANTS.TCP_LIFECYCLE_EVENT_CLOSE]: 'close',
};

/** The ends a close can carry; 0 (TCP_LIFECYCLE_END_NONE) is never one. */
export const ENDS: Record<number, ConnectionEnd> = {
  [CONSTANTS.TCP_LIFECYCLE_END_FIN]: 'fin',
  [CONSTANTS.TCP_LIFECYCLE_END_RESET_SENT]: 'reset_sent',
  [CONSTANTS.TCP_LIFECYCLE_END_RESET_RECEIVED]: 'reset_received',
  [CONSTANTS.TCP_LIFECYCLE_END_TIMEOUT]: 'timeout',
  [CONSTANTS.TCP_LIFECYCLE_END_ABORT]: 'abort',
};

export class DecodeError extends Error {}

/** The end of the close record at `offset`: a DecodeError when the kernel wrote none we know. */
export function closeEnd(buf: Buffer, offset: number): ConnectionEnd {
  const value = buf[offset + F.end.offset];
  const end = ENDS[value];
  if (end === undefined) throw new DecodeError(`tcp_lifecycle close event with unknown end ${value}`);
  return end;
}

/** A NUL-terminated string of at most `size` bytes (comm), as latin1. */
export function cString(buf: Buffer, offset: number, size: number): string {
  const end = buf.indexOf(0, offset);
  return buf.toString('latin1', offset, end < 0 || end > offset + size ? offset + size : end);
}

export function decodeLifecycleEvent(buf: Buffer, offset: number, length: number): LifecycleEvent {
  if (length !== EVENT_SIZE) throw new DecodeError(`tcp_lifecycle_event of ${length} bytes, expected ${EVENT_SIZE}`);
  const kind = KINDS[buf[offset + F.kind.offset]];
  if (!kind) throw new DecodeError(`unknown tcp_lifecycle event kind ${buf[offset + F.kind.offset]}`);
  const family = buf.readUInt16LE(offset + F.family.offset);
  const duration = buf.readBigUInt64LE(offset + F.duration_ns.offset);
  // One object literal per event (absent fields are undefined): this runs for every event.
  return {
    kind,
    role: buf[offset + F.role.offset] === CONSTANTS.TCP_LIFECYCLE_ROLE_SERVER ? 'server' : 'client',
    timestampNs: buf.readBigUInt64LE(offset + F.timestamp_ns.offset),
    cgroupId: buf.readBigUInt64LE(offset + F.cgroup_id.offset),
    netnsInode: buf.readUInt32LE(offset + F.netns_inode.offset),
    pid: buf.readUInt32LE(offset + F.pid.offset),
    comm: cString(buf, offset + F.comm.offset, F.comm.size),
    local: formatAddress(family, buf, offset + F.saddr.offset),
    localPort: buf.readUInt16LE(offset + F.sport.offset),
    peer: formatAddress(family, buf, offset + F.daddr.offset),
    peerPort: buf.readUInt16LE(offset + F.dport.offset),
    handshakeNs: kind === 'connect' ? duration : undefined,
    close:
      kind === 'close'
        ? {
            durationNs: duration,
            bytesSent: buf.readBigUInt64LE(offset + F.bytes_sent.offset),
            bytesReceived: buf.readBigUInt64LE(offset + F.bytes_received.offset),
            segmentsSent: buf.readUInt32LE(offset + F.segments_sent.offset),
            segmentsReceived: buf.readUInt32LE(offset + F.segments_received.offset),
            retransmits: buf.readUInt32LE(offset + F.retransmits.offset),
            srttUs: buf.readUInt32LE(offset + F.srtt_us.offset),
            end: closeEnd(buf, offset),
          }
        : undefined,
    connectionHash: recordConnectionHash(buf, offset + F.connection_hash.offset),
  };
}
