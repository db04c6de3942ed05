// A tcp_handshake record's OTLP protobuf LogRecord, written from its raw kernel bytes (the
// otlpProto capability of HandshakeRawLogRecord, src/telemetry/otlp_encodable.ts): the
// attributes in the order handshakeAttributes() puts them in the map and the generic encoder
// (otlp_proto_logs.ts) writes them. raw_proto.test.ts checks it byte for byte.
import { errnoName } from '../../host/errno';
import { ATTR } from '../../telemetry/attributes';
import { stringAttributeProto } from '../../telemetry/otlp_proto_values';
import type { ProtoWriter } from '../../telemetry/otlp_proto_writer';
import { u64Number } from '../common/raw_events';
import {
  cgroupFields,
  CONSTANT_FIELDS as C,
  KEYS,
  localAddressField,
  peerAddressField,
  writeCommField,
  writeNumberField,
  writeRecordEnd,
  writeRecordStart,
  writeUint32Field,
} from '../common/raw_proto';
import type { HandshakeRawLogRecord } from './raw_log_record';
import { CONSTANTS, EVENT_FIELDS as F } from './layout';

/** error.type fields by errno: a few distinct values (ECONNREFUSED, ETIMEDOUT, …). */
const errorFields = new Map<number, Uint8Array>();

function errorField(errno: number): Uint8Array {
  let field = errorFields.get(errno);
  if (field === undefined) {
    field = stringAttributeProto(ATTR.errorType.key, errnoName(errno));
    if (errorFields.size < 1024) errorFields.set(errno, field);
  }
  return field;
}

export function writeHandshakeProto(record: HandshakeRawLogRecord, w: ProtoWriter, appended: Uint8Array): void {
  const batch = record.batch;
  const bytes = batch.bytes;
  const o = record.offset;
  const family = bytes.readUInt16LE(o + F.family.offset);
  const peer = batch.caches.address(family, bytes, o + F.daddr.offset);
  writeRecordStart(w, record.hrTime);
  w.raw(C.transport);
  w.raw(peer.type === 'ipv4' ? C.ipv4 : C.ipv6);
  if (bytes[o + F.kind.offset] === CONSTANTS.TCP_HANDSHAKE_OUTCOME) {
    w.raw(localAddressField(batch.caches.address(family, bytes, o + F.saddr.offset)));
    // 0 when unknown (a blocking connect that failed): then no port, as handshakeAttributes does
    const localPort = bytes.readUInt16LE(o + F.sport.offset);
    if (localPort !== 0) writeUint32Field(w, KEYS.localPort, localPort);
  }
  w.raw(peerAddressField(peer));
  writeUint32Field(w, KEYS.peerPort, bytes.readUInt16LE(o + F.dport.offset));
  w.raw(bytes[o + F.role.offset] === CONSTANTS.TCP_HANDSHAKE_ROLE_SERVER ? C.server : C.client);
  const pid = bytes.readUInt32LE(o + F.pid.offset);
  if (pid !== 0) {
    writeUint32Field(w, KEYS.pid, pid);
    writeCommField(w, bytes, o + F.comm.offset, F.comm.size);
  }
  w.raw(cgroupFields(batch.cgroup(o + F.cgroup_id.offset)));
  writeUint32Field(w, KEYS.netns, bytes.readUInt32LE(o + F.netns_inode.offset));
  writeNumberField(w, KEYS.handshake, u64Number(bytes, o + F.duration_ns.offset) / 1e9);
  const error = bytes.readUInt32LE(o + F.error.offset);
  if (error !== 0) w.raw(errorField(error));
  const fd = bytes.readInt32LE(o + F.fd.offset);
  if (fd >= 0) writeUint32Field(w, KEYS.fd, fd);
  writeRecordEnd(w, appended, record.hrTimeObserved, record.eventName);
}
