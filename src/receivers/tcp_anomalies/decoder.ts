// Decodes tcp_anomalies_event records (bpf/tcp_anomalies.h).
import { AF_INET, AF_INET6, formatAddress, type IpAddress } from '../../host/ip_address';
import { recordConnectionHash } from '../common/record_connection_hash';
import { CONSTANTS as C, EVENT_FIELDS as F, EVENT_SIZE } from './layout';

export type AnomalyKind = 'retransmit' | 'reset_sent' | 'reset_received' | 'drop';

const KINDS: Readonly<Record<number, AnomalyKind>> = {
  [C.TCP_ANOMALIES_RETRANSMIT]: 'retransmit',
  [C.TCP_ANOMALIES_RESET_SENT]: 'reset_sent',
  [C.TCP_ANOMALIES_RESET_RECEIVED]: 'reset_received',
  [C.TCP_ANOMALIES_DROP]: 'drop',
};

export interface AnomalyEvent {
  readonly kind: AnomalyKind;
  readonly timestampNs: bigint;
  /** 0: no (full) socket, the host. */
  readonly cgroupId: bigint;
  /** Retransmissions: segments retransmitted on the connection so far. */
  readonly count: bigint;
  readonly netnsInode: number;
  /** The process whose call caused it; 0 when none. */
  readonly pid: number;
  readonly comm: string;
  /** Kernel enum value (sk_rst_reason, skb_drop_reason) or (what << 8) | trigger for retransmissions. */
  readonly reason: number;
  readonly stackId: number;
  /** TCP state of the socket (enum tcp_state), 0 without a socket. */
  readonly state: number;
  /** Absent when no tuple is known. */
  readonly local?: IpAddress;
  readonly localPort: number;
  readonly peer?: IpAddress;
  readonly peerPort: number;
  readonly connectionHash?: number;
}

export class AnomalyDecodeError extends Error {}

/** The event kind at `offset`, or a thrown AnomalyDecodeError. */
export function anomalyKind(buf: Buffer, offset: number): AnomalyKind {
  const byte = buf[offset + F.kind.offset];
  const kind = KINDS[byte];
  if (kind === undefined) throw new AnomalyDecodeError(`unknown tcp_anomalies event kind ${byte}`);
  return kind;
}

export function decodeAnomalyEvent(buf: Buffer, offset: number, length: number): AnomalyEvent {
  if (length !== EVENT_SIZE) throw new AnomalyDecodeError(`tcp_anomalies_event of ${length} bytes, expected ${EVENT_SIZE}`);
  const kind = anomalyKind(buf, offset);
  const family = buf.readUInt16LE(offset + F.family.offset);
  const hasTuple = family === AF_INET || family === AF_INET6;
  const commStart = offset + F.comm.offset;
  const commEnd = buf.indexOf(0, commStart);
  const commStop = commEnd < 0 || commEnd > commStart + F.comm.size ? commStart + F.comm.size : commEnd;
  return {
    kind,
    timestampNs: buf.readBigUInt64LE(offset + F.timestamp_ns.offset),
    cgroupId: buf.readBigUInt64LE(offset + F.cgroup_id.offset),
    count: buf.readBigUInt64LE(offset + F.count.offset),
    netnsInode: buf.readUInt32LE(offset + F.netns_inode.offset),
    pid: buf.readUInt32LE(offset + F.pid.offset),
    comm: buf.toString('latin1', commStart, commStop),
    reason: buf.readUInt32LE(offset + F.reason.offset),
    stackId: buf.readInt32LE(offset + F.stack_id.offset),
    state: buf[offset + F.state.offset],
    local: hasTuple ? formatAddress(family, buf, offset + F.saddr.offset) : undefined,
    localPort: buf.readUInt16LE(offset + F.sport.offset),
    peer: hasTuple ? formatAddress(family, buf, offset + F.daddr.offset) : undefined,
    peerPort: buf.readUInt16LE(offset + F.dport.offset),
    connectionHash: recordConnectionHash(buf, offset + F.connection_hash.offset),
  };
}
