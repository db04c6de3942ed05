// Decodes tcp_handshake_event records (bpf/tcp_handshake.h).
import { formatAddress, type IpAddress } from '../../host/ip_address';
import { recordConnectionHash } from '../common/record_connection_hash';
import type { HandshakeRole } from '../common/workload_attributes';
import { CONSTANTS, EVENT_FIELDS as F, EVENT_SIZE } from './layout';

export interface HandshakeEvent {
  /** `outcome`: the handshake ended (ESTABLISHED or CLOSE); `sync_failure`: connect() failed before any SYN. */
  readonly kind: 'outcome' | 'sync_failure';
  readonly role: HandshakeRole;
  readonly timestampNs: bigint;
  readonly durationNs: bigint;
  readonly cgroupId: bigint;
  readonly netnsInode: number;
  readonly pid: number;
  readonly fd: number;
  readonly comm: string;
  /** errno, 0 on success. */
  readonly error: number;
  /** Absent for sync failures (no local address was bound). */
  readonly local?: IpAddress;
  readonly localPort?: number;
  readonly peer: IpAddress;
  readonly peerPort: number;
  /** The kernel's connection hash of the tuple in [0, 1) (the sampling processor's connectionUnit). */
  readonly connectionHash?: number;
}

export class HandshakeDecodeError extends Error {}

export function decodeHandshakeEvent(buf: Buffer, offset: number, length: number): HandshakeEvent {
  if (length !== EVENT_SIZE) throw new HandshakeDecodeError(`tcp_handshake_event of ${length} bytes, expected ${EVENT_SIZE}`);
  const kindByte = buf[offset + F.kind.offset];
  if (kindByte !== CONSTANTS.TCP_HANDSHAKE_OUTCOME && kindByte !== CONSTANTS.TCP_HANDSHAKE_SYNC_FAILURE) {
    throw new HandshakeDecodeError(`unknown tcp_handshake event kind ${kindByte}`);
  }
  const kind = kindByte === CONSTANTS.TCP_HANDSHAKE_OUTCOME ? 'outcome' : 'sync_failure';
  const family = buf.readUInt16LE(offset + F.family.offset);
  const commEnd = buf.indexOf(0, offset + F.comm.offset);
  const commStop = commEnd < 0 || commEnd > offset + F.comm.offset + F.comm.size ? offset + F.comm.offset + F.comm.size : commEnd;
  return {
    kind,
    role: buf[offset + F.role.offset] === CONSTANTS.TCP_HANDSHAKE_ROLE_SERVER ? 'server' : 'client',
    timestampNs: buf.readBigUInt64LE(offset + F.timestamp_ns.offset),
    durationNs: buf.readBigUInt64LE(offset + F.duration_ns.offset),
    cgroupId: buf.readBigUInt64LE(offset + F.cgroup_id.offset),
    netnsInode: buf.readUInt32LE(offset + F.netns_inode.offset),
    pid: buf.readUInt32LE(offset + F.pid.offset),
    fd: buf.readInt32LE(offset + F.fd.offset),
    comm: buf.toString('latin1', offset + F.comm.offset, commStop),
    error: buf.readUInt32LE(offset + F.error.offset),
    local: kind === 'outcome' ? formatAddress(family, buf, offset + F.saddr.offset) : undefined,
    localPort: kind === 'outcome' ? buf.readUInt16LE(offset + F.sport.offset) : undefined,
    peer: formatAddress(family, buf, offset + F.daddr.offset),
    peerPort: buf.readUInt16LE(offset + F.dport.offset),
    connectionHash: recordConnectionHash(buf, offset + F.connection_hash.offset),
  };
}
