// A tcp_lifecycle event as a log record backed by its raw kernel bytes: one small object per event
// instead of an event object, address objects, bigints and a ~20-key attribute map. The map is
// built only when a component asks for `attributes` (then cached); the file exporter asks for
// writeOtlpJson() instead (src/telemetry/otlp_encodable.ts), which writes the exact bytes the
// generic path writes for that map, from the ring bytes and from fragments cached per address and
// per cgroup, into the exporter's byte buffer.
// raw_log_record.test.ts checks both against lifecycleLogRecord for the same bytes.
import type { Attributes, AttributeValue } from '@opentelemetry/api';
import { ATTR } from '../../telemetry/attributes';
import { fragment, fragments, type JsonByteWriter, type JsonFragment } from '../../telemetry/json_byte_writer';
import type { OtlpJsonLogRecord, OtlpProtoLogRecord } from '../../telemetry/otlp_encodable';
import type { ProtoWriter } from '../../telemetry/otlp_proto_writer';
import { keyPrefix, writeDecimalValue, writeNumberValue } from '../../telemetry/otlp_json_fragments';
import type { RawBatch } from '../common/raw_events';
import { u64Number, writeCommJson, writeRecordStart } from '../common/raw_events';
import { u16le, u32le } from '../common/le_bytes';
import { RawLogRecord } from '../common/raw_log_record';
import { decodeLifecycleEvent, DecodeError, ENDS, KINDS } from './decoder';
import { CONSTANTS, EVENT_FIELDS as F, EVENT_SIZE } from './layout';
import { LIFECYCLE_EVENT_NAMES, lifecycleAttributes } from './log_records';
import { writeLifecycleProto } from './raw_proto';

/** Every key a lifecycle record can have: any other key is absent without building the map. */
const KEYS: ReadonlySet<string> = new Set(
  [
    ATTR.networkTransport, ATTR.networkType, ATTR.localAddress, ATTR.localPort, ATTR.peerAddress, ATTR.peerPort,
    ATTR.handshakeRole, ATTR.processPid, ATTR.processExecutableName, ATTR.processLinuxCgroup, ATTR.cgroupId,
    ATTR.overflow, ATTR.netnsInode, ATTR.tcpHandshakeDuration, ATTR.tcpDuration, ATTR.tcpBytesSent,
    ATTR.tcpBytesReceived, ATTR.tcpSegmentsSent, ATTR.tcpSegmentsReceived, ATTR.tcpRetransmits, ATTR.tcpRtt, ATTR.tcpConnectionEnd,
  ].map((a) => a.key),
);

const pair = (key: string, value: string) => `${keyPrefix(key)}${value}}`;
const J = fragments({
  // From the eventName's closing quote to the local address's value.
  startV4: `","attributes":[${pair(ATTR.networkTransport.key, '{"stringValue":"tcp"}')},${pair(ATTR.networkType.key, '{"stringValue":"ipv4"}')},${keyPrefix(ATTR.localAddress.key)}{"stringValue":`,
  startV6: `","attributes":[${pair(ATTR.networkTransport.key, '{"stringValue":"tcp"}')},${pair(ATTR.networkType.key, '{"stringValue":"ipv6"}')},${keyPrefix(ATTR.localAddress.key)}{"stringValue":`,
  afterLocalAddress: `}},${keyPrefix(ATTR.localPort.key)}{"intValue":"`,
  afterLocalPort: `"}},${keyPrefix(ATTR.peerAddress.key)}{"stringValue":`,
  afterPeerAddress: `}},${keyPrefix(ATTR.peerPort.key)}{"intValue":"`,
  afterPeerPortClient: `"}},${pair(ATTR.handshakeRole.key, '{"stringValue":"client"}')}`,
  afterPeerPortServer: `"}},${pair(ATTR.handshakeRole.key, '{"stringValue":"server"}')}`,
  pid: `,${keyPrefix(ATTR.processPid.key)}{"intValue":"`,
  afterPid: `"}},${keyPrefix(ATTR.processExecutableName.key)}{"stringValue":`,
  netns: `,${keyPrefix(ATTR.netnsInode.key)}{"intValue":"`,
  handshake: `,${keyPrefix(ATTR.tcpHandshakeDuration.key)}`,
  duration: `,${keyPrefix(ATTR.tcpDuration.key)}`,
  bytesSent: `},${keyPrefix(ATTR.tcpBytesSent.key)}`,
  bytesReceived: `},${keyPrefix(ATTR.tcpBytesReceived.key)}`,
  segmentsSent: `},${keyPrefix(ATTR.tcpSegmentsSent.key)}{"intValue":"`,
  segmentsReceived: `"}},${keyPrefix(ATTR.tcpSegmentsReceived.key)}{"intValue":"`,
  retransmits: `"}},${keyPrefix(ATTR.tcpRetransmits.key)}{"intValue":"`,
  rtt: `"}},${keyPrefix(ATTR.tcpRtt.key)}`,
  endPair: '}',
  endIntPair: '"}}',
  endStringPair: '}}',
  end: '],"droppedAttributesCount":0}',
});

/** `,{tcp.connection.end pair}` per end value, written after tcp.rtt: one copy per close. */
const END_FRAGMENTS: Record<number, JsonFragment> = Object.fromEntries(
  Object.entries(ENDS).map(([value, end]) => [value, fragment(`,${pair(ATTR.tcpConnectionEnd.key, `{"stringValue":${JSON.stringify(end)}}`)}`)]),
);

const NAMES: Record<number, string> = Object.fromEntries(Object.entries(KINDS).map(([kind, name]) => [kind, LIFECYCLE_EVENT_NAMES[name]]));
const NAME_FRAGMENTS: Record<number, JsonFragment> = Object.fromEntries(Object.entries(NAMES).map(([kind, name]) => [kind, fragment(name)]));

export class LifecycleRawLogRecord extends RawLogRecord implements OtlpJsonLogRecord, OtlpProtoLogRecord {
  /** `offset`: where the tcp_lifecycle_event starts in the batch's bytes. */
  constructor(batch: RawBatch, offset: number) {
    const kind = batch.bytes[offset + F.kind.offset];
    const name = NAMES[kind];
    if (name === undefined) throw new DecodeError(`unknown tcp_lifecycle event kind ${kind}`);
    if (kind === CONSTANTS.TCP_LIFECYCLE_EVENT_CLOSE && ENDS[batch.bytes[offset + F.end.offset]] === undefined) {
      throw new DecodeError(`tcp_lifecycle close event with unknown end ${batch.bytes[offset + F.end.offset]}`);
    }
    super(batch, offset, name, F.timestamp_ns.offset);
  }

  /** Decodes the record at `offset`: throws DecodeError for a record of another size or kind. */
  static decode(batch: RawBatch, offset: number, length: number): LifecycleRawLogRecord {
    if (length !== EVENT_SIZE) throw new DecodeError(`tcp_lifecycle_event of ${length} bytes, expected ${EVENT_SIZE}`);
    return new LifecycleRawLogRecord(batch, offset);
  }

  protected get connectionHashOffset(): number {
    return F.connection_hash.offset;
  }

  protected buildAttributes(): Attributes {
    const cgroup = this.batch.cgroup(this.offset + F.cgroup_id.offset);
    return lifecycleAttributes(decodeLifecycleEvent(this.batch.bytes, this.offset, EVENT_SIZE), (into) => Object.assign(into, cgroup.attributes));
  }

  attribute(key: string): AttributeValue | undefined {
    const bytes = this.batch.bytes;
    const o = this.offset;
    switch (key) {
      case ATTR.processLinuxCgroup.key:
        return this.batch.cgroup(o + F.cgroup_id.offset).cgroup;
      case ATTR.peerAddress.key:
        return this.batch.caches.address(u16le(bytes, o + F.family.offset), bytes, o + F.daddr.offset).text;
      case ATTR.localAddress.key:
        return this.batch.caches.address(u16le(bytes, o + F.family.offset), bytes, o + F.saddr.offset).text;
      case ATTR.peerPort.key:
        return u16le(bytes, o + F.dport.offset);
      case ATTR.localPort.key:
        return u16le(bytes, o + F.sport.offset);
      default:
        return KEYS.has(key) ? this.attributes[key] : undefined;
    }
  }

  /** This record's OTLP protobuf LogRecord fields, from its bytes (raw_proto.ts). */
  otlpProto(writer: ProtoWriter, appended: Uint8Array): void {
    writeLifecycleProto(this, writer, appended);
  }

  writeOtlpJson(w: JsonByteWriter, appended?: JsonFragment): void {
    const batch = this.batch;
    const bytes = batch.bytes;
    const o = this.offset;
    const family = u16le(bytes, o + F.family.offset);
    const local = batch.caches.address(family, bytes, o + F.saddr.offset);
    const peer = batch.caches.address(family, bytes, o + F.daddr.offset);
    writeRecordStart(w, this.hrTime, batch.observedNanos, NAME_FRAGMENTS[bytes[o + F.kind.offset]]);
    w.bytes(local.type === 'ipv4' ? J.startV4 : J.startV6);
    w.bytes(local.json);
    w.bytes(J.afterLocalAddress);
    w.uint(u16le(bytes, o + F.sport.offset));
    w.bytes(J.afterLocalPort);
    w.bytes(peer.json);
    w.bytes(J.afterPeerAddress);
    w.uint(u16le(bytes, o + F.dport.offset));
    w.bytes(bytes[o + F.role.offset] === CONSTANTS.TCP_LIFECYCLE_ROLE_SERVER ? J.afterPeerPortServer : J.afterPeerPortClient);
    const pid = u32le(bytes, o + F.pid.offset);
    if (pid !== 0) {
      w.bytes(J.pid);
      w.uint(pid);
      w.bytes(J.afterPid);
      writeCommJson(w, bytes, o + F.comm.offset, F.comm.size);
      w.bytes(J.endStringPair);
    }
    const cgroup = batch.cgroup(o + F.cgroup_id.offset);
    if (cgroup.json.length !== 0) {
      w.byte(0x2c);
      w.bytes(cgroup.json);
    }
    w.bytes(J.netns);
    w.uint(u32le(bytes, o + F.netns_inode.offset));
    w.bytes(J.endIntPair);
    const kind = bytes[o + F.kind.offset];
    if (kind === CONSTANTS.TCP_LIFECYCLE_EVENT_CONNECT) {
      w.bytes(J.handshake);
      writeDecimalValue(w, u64Number(bytes, o + F.duration_ns.offset), 9);
      w.bytes(J.endPair);
    } else if (kind === CONSTANTS.TCP_LIFECYCLE_EVENT_CLOSE) {
      w.bytes(J.duration);
      writeDecimalValue(w, u64Number(bytes, o + F.duration_ns.offset), 9);
      w.bytes(J.bytesSent);
      writeNumberValue(w, u64Number(bytes, o + F.bytes_sent.offset));
      w.bytes(J.bytesReceived);
      writeNumberValue(w, u64Number(bytes, o + F.bytes_received.offset));
      w.bytes(J.segmentsSent);
      w.uint(u32le(bytes, o + F.segments_sent.offset));
      w.bytes(J.segmentsReceived);
      w.uint(u32le(bytes, o + F.segments_received.offset));
      w.bytes(J.retransmits);
      w.uint(u32le(bytes, o + F.retransmits.offset));
      w.bytes(J.rtt);
      writeDecimalValue(w, u32le(bytes, o + F.srtt_us.offset), 6);
      w.bytes(J.endPair);
      w.bytes(END_FRAGMENTS[bytes[o + F.end.offset]]);
    }
    if (appended !== undefined && appended.length !== 0) {
      w.byte(0x2c);
      w.bytes(appended);
    }
    w.bytes(J.end);
  }
}
