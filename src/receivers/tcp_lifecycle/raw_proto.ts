// A tcp_lifecycle record's OTLP protobuf LogRecord, written from its raw kernel bytes (the
// otlpProto capability of LifecycleRawLogRecord, src/telemetry/otlp_encodable.ts): the fields and
// attributes in the order lifecycleAttributes() puts them in the map and the generic encoder
// (otlp_proto_logs.ts) writes them, values derived as the decoded path derives them
// (secondsFromNs, secondsFromUs, Number of a u64). raw_proto.test.ts checks it byte for byte.
import { ATTR } from '../../telemetry/attributes';
import type { ProtoWriter } from '../../telemetry/otlp_proto_writer';
import { stringAttributeProto } from '../../telemetry/otlp_proto_values';
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
import { ENDS } from './decoder';
import type { LifecycleRawLogRecord } from './raw_log_record';
import { CONSTANTS, EVENT_FIELDS as F } from './layout';

/** The tcp.connection.end attribute field per end value, encoded once (the record checked it). */
const END_FIELDS: Record<number, Uint8Array> = Object.fromEntries(
  Object.entries(ENDS).map(([value, end]) => [value, stringAttributeProto(ATTR.tcpConnectionEnd.key, end)]),
);

export function writeLifecycleProto(record: LifecycleRawLogRecord, w: ProtoWriter, appended: Uint8Array): void {
  const batch = record.batch;
  const bytes = batch.bytes;
  const o = record.offset;
  const family = bytes.readUInt16LE(o + F.family.offset);
  const local = batch.caches.address(family, bytes, o + F.saddr.offset);
  const peer = batch.caches.address(family, bytes, o + F.daddr.offset);
  writeRecordStart(w, record.hrTime);
  w.raw(C.transport);
  w.raw(local.type === 'ipv4' ? C.ipv4 : C.ipv6);
  w.raw(localAddressField(local));
  writeUint32Field(w, KEYS.localPort, bytes.readUInt16LE(o + F.sport.offset));
  w.raw(peerAddressField(peer));
  writeUint32Field(w, KEYS.peerPort, bytes.readUInt16LE(o + F.dport.offset));
  w.raw(bytes[o + F.role.offset] === CONSTANTS.TCP_LIFECYCLE_ROLE_SERVER ? C.server : C.client);
  const pid = bytes.readUInt32LE(o + F.pid.offset);
  if (pid !== 0) {
    writeUint32Field(w, KEYS.pid, pid);
    writeCommField(w, bytes, o + F.comm.offset, F.comm.size);
  }
  w.raw(cgroupFields(batch.cgroup(o + F.cgroup_id.offset)));
  writeUint32Field(w, KEYS.netns, bytes.readUInt32LE(o + F.netns_inode.offset));
  const kind = bytes[o + F.kind.offset];
  if (kind === CONSTANTS.TCP_LIFECYCLE_EVENT_CONNECT) {
    writeNumberField(w, KEYS.handshake, u64Number(bytes, o + F.duration_ns.offset) / 1e9);
  } else if (kind === CONSTANTS.TCP_LIFECYCLE_EVENT_CLOSE) {
    writeNumberField(w, KEYS.duration, u64Number(bytes, o + F.duration_ns.offset) / 1e9);
    writeNumberField(w, KEYS.bytesSent, u64Number(bytes, o + F.bytes_sent.offset));
    writeNumberField(w, KEYS.bytesReceived, u64Number(bytes, o + F.bytes_received.offset));
    writeUint32Field(w, KEYS.segmentsSent, bytes.readUInt32LE(o + F.segments_sent.offset));
    writeUint32Field(w, KEYS.segmentsReceived, bytes.readUInt32LE(o + F.segments_received.offset));
    writeUint32Field(w, KEYS.retransmits, bytes.readUInt32LE(o + F.retransmits.offset));
    writeNumberField(w, KEYS.rtt, bytes.readUInt32LE(o + F.srtt_us.offset) / 1e6);
    w.raw(END_FIELDS[bytes[o + F.end.offset]]);
  }
  writeRecordEnd(w, appended, record.hrTimeObserved, record.eventName);
}
