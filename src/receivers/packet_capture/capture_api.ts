// The contract between the packet capture engine (this folder) and whatever asks it for captures
// (the `tcpscope capture` CLI through the agent's control channel, a schedule, the automatic
// triggers). Everything here is plain JSON-friendly data, so a request or a status can cross a
// socket unchanged. Keep it small: fields are added, never renamed or removed.
import { TcpscopeError } from '../../errors';

/** Why a capture started. */
export type CaptureReason = 'on_demand' | 'schedule' | 'failed_connect' | 'reset' | 'retransmit_burst';

/**
 * Which packets a capture takes. Only TCP over IPv4/IPv6 is captured. Every field present must
 * match (AND); an absent field matches anything; a request with no field at all is refused
 * (a capture of the whole host is never what someone meant).
 */
export interface CaptureSelection {
  /** cgroup v2 ids (the inode number of the cgroup directory): packets of sockets in any of them. */
  readonly cgroupIds?: readonly number[];
  /**
   * cgroup v2 directories: under the cgroup2 mount (`/sys/fs/cgroup/kubepods.slice/...`) or as
   * paths in the hierarchy, the way /proc/<pid>/cgroup writes them (`/kubepods.slice/...`):
   * resolved to ids when the capture starts, then as cgroupIds.
   */
  readonly cgroupPaths?: readonly string[];
  /** IPv4 or IPv6 literal of the packet's source (the connection's initiator when bidirectional). */
  readonly sourceAddress?: string;
  /** TCP source port, 1-65535. */
  readonly sourcePort?: number;
  /** IPv4 or IPv6 literal of the packet's destination. */
  readonly destinationAddress?: string;
  /** TCP destination port, 1-65535. */
  readonly destinationPort?: number;
  /**
   * true (default): a packet also matches when its source and destination swapped match, so both
   * directions of a conversation are captured. false: only packets going the selected way.
   */
  readonly bidirectional?: boolean;
}

/**
 * Limits of one capture. The capture ends when the first of packets / bytes / duration is
 * reached; every matching packet not written (sampling, rate limit, buffer full) is counted.
 * Absent fields take the receiver's configured defaults (see its README).
 */
export interface CaptureBounds {
  /** Packets written, at most. */
  readonly packets?: number;
  /** Bytes of packet data written (after snaplen), at most. */
  readonly bytes?: number;
  /**
   * Bytes kept of each packet, from the start of its IP header. Absent: headers only (each packet
   * cut at the end of its TCP header): payload is captured only when a snaplen is asked for.
   */
  readonly snaplen?: number;
  /** Milliseconds after start when the capture ends whatever it has written. */
  readonly durationMs?: number;
  /** Write one matching packet in N (1 = every packet); the others are counted as skipped. */
  readonly sampleOneIn?: number;
  /** Packets written per second, at most; the excess is counted as skipped. 0 or absent: no limit. */
  readonly packetsPerSecond?: number;
}

export interface CaptureRequest {
  readonly selection: CaptureSelection;
  readonly bounds?: CaptureBounds;
  /** 'on_demand' unless set; the automatic triggers set their own. */
  readonly reason?: CaptureReason;
  /** A name for the person who asked (file names and the log event carry it); [A-Za-z0-9_.-]{1,64}. */
  readonly name?: string;
}

/** running: packets are being taken; the others are final. */
export type CaptureState = 'running' | 'finished' | 'stopped' | 'failed';

/** Why a capture that is no longer running ended. */
export type CaptureEnd = 'packets' | 'bytes' | 'duration' | 'stopped' | 'shutdown' | 'error';

export interface CaptureStatus {
  /** Unique within the agent process, e.g. `cap-3`. */
  readonly id: string;
  readonly name?: string;
  readonly reason: CaptureReason;
  readonly state: CaptureState;
  /** Set once the state is final. */
  readonly end?: CaptureEnd;
  /** The selection as applied (cgroupPaths resolved into cgroupIds, bidirectional filled in). */
  readonly selection: CaptureSelection;
  /** The bounds as applied (defaults filled in). */
  readonly bounds: CaptureBounds;
  /** ISO 8601 times. */
  readonly startedAt: string;
  readonly endedAt?: string;
  /** Packets and bytes (after snaplen) written to the files. */
  readonly captured: { readonly packets: number; readonly bytes: number };
  /**
   * Matching packets not written, by cause: sampling (1-in-N), rateLimit (packetsPerSecond),
   * lost (kernel buffer full or capture slot busy). total is their sum.
   */
  readonly skipped: {
    readonly total: number;
    readonly sampling: number;
    readonly rateLimit: number;
    readonly lost: number;
  };
  /** pcapng files written so far, absolute paths, oldest first (rotation may add several). */
  readonly files: readonly string[];
  /** When state is 'failed': what went wrong and what to do. */
  readonly error?: string;
}

/** Stable codes of the errors a CaptureService throws. */
export type CaptureErrorCode =
  | 'CAPTURE_INVALID_REQUEST' // the request is wrong: the message names the field
  | 'CAPTURE_NOT_FOUND' // no capture with that id
  | 'CAPTURE_BUSY' // all capture slots in use: stop one or wait
  | 'CAPTURE_FAILED'; // the kernel program or the output directory failed

export class CaptureError extends TcpscopeError {
  constructor(
    override readonly code: CaptureErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
  }
}

/**
 * What a running packet_capture receiver offers. Every method may throw CaptureError.
 * A finished capture is reported three ways: its status in list()/get() turns final, the
 * promise of finished(id) resolves, and the receiver emits one OTel log event
 * (`tcp.capture.finished`) through its logs pipeline.
 */
export interface CaptureService {
  /** Starts a capture; resolves once the kernel takes packets for it (state 'running'). */
  start(request: CaptureRequest): Promise<CaptureStatus>;
  /** Running captures and the most recent finished ones (a bounded history), oldest first. */
  list(): readonly CaptureStatus[];
  get(id: string): CaptureStatus | undefined;
  /** Ends a running capture (end 'stopped'); resolves with its final status, files closed. */
  stop(id: string): Promise<CaptureStatus>;
  /** Resolves with the final status when the capture ends (at once if it already has). */
  finished(id: string): Promise<CaptureStatus>;
}

/**
 * Where a running agent's capture services are found (the control channel looks here). A
 * packet_capture receiver registers itself under its component id on start and removes itself
 * on shutdown.
 */
export class CaptureServiceRegistry {
  private readonly services = new Map<string, CaptureService>();

  register(componentId: string, service: CaptureService): void {
    this.services.set(componentId, service);
  }

  unregister(componentId: string, service: CaptureService): void {
    if (this.services.get(componentId) === service) this.services.delete(componentId);
  }

  /** The service of that component id, or the only one when the id is absent. */
  find(componentId?: string): CaptureService | undefined {
    if (componentId !== undefined) return this.services.get(componentId);
    return this.services.size === 1 ? [...this.services.values()][0] : undefined;
  }

  ids(): readonly string[] {
    return [...this.services.keys()];
  }
}

/** The agent process's registry. */
export const captureServices = new CaptureServiceRegistry();
