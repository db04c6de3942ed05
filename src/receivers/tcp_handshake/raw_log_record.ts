// A tcp_handshake event as a log record backed by its raw kernel bytes, as tcp_lifecycle's
// (see src/receivers/tcp_lifecycle/raw_log_record.ts for the why): `attributes` built on demand
// by the decoded path's own handshakeAttributes(), writeOtlpJson() written from the bytes.
// raw_log_record.test.ts checks both against handshakeLogRecord for the same bytes.
import type { Attributes, AttributeValue } from '@opentelemetry/api';
import { errnoName } from '../../host/errno';
import { ATTR } from '../../telemetry/attributes';
import { fragment, fragments, type JsonByteWriter, type JsonFragment } from '../../telemetry/json_byte_writer';
import type { OtlpJsonLogRecord, OtlpProtoLogRecord } from '../../telemetry/otlp_encodable';
import type { ProtoWriter } from '../../telemetry/otlp_proto_writer';
import { keyPrefix, writeDecimalValue } from '../../telemetry/otlp_json_fragments';
import { EVENTS } from '../../telemetry/signals';
import type { RawBatch } from '../common/raw_events';
import { u64Number, writeCommJson, writeRecordStart } from '../common/raw_events';
import { RawLogRecord } from '../common/raw_log_record';
import { decodeHandshakeEvent, HandshakeDecodeError } from './decoder';
import { CONSTANTS, EVENT_FIELDS as F, EVENT_SIZE } from './layout';
import { handshakeAttributes } from './log_records';
import { writeHandshakeProto } from './raw_proto';

/** Every key a handshake record can have: any other key is absent without building the map. */
const KEYS: ReadonlySet<string> = new Set(
  [
    ATTR.networkTransport, ATTR.networkType, ATTR.localAddress, ATTR.localPort, ATTR.peerAddress, ATTR.peerPort,
    ATTR.handshakeRole, ATTR.processPid, ATTR.processExecutableName, ATTR.processLinuxCgroup, ATTR.cgroupId,
    ATTR.overflow, ATTR.netnsInode, ATTR.tcpHandshakeDuration, ATTR.errorType, ATTR.socketFd,
  ].map((a) => a.key),
);

const pair = (key: string, value: string) => `${keyPrefix(key)}${value}}`;
const J = fragments({
  startV4: `","attributes":[${pair(ATTR.networkTransport.key, '{"stringValue":"tcp"}')},${pair(ATTR.networkType.key, '{"stringValue":"ipv4"}')}`,
  startV6: `","attributes":[${pair(ATTR.networkTransport.key, '{"stringValue":"tcp"}')},${pair(ATTR.networkType.key, '{"stringValue":"ipv6"}')}`,
  localAddress: `,${keyPrefix(ATTR.localAddress.key)}{"stringValue":`,
  localPort: `}},${keyPrefix(ATTR.localPort.key)}{"intValue":"`,
  peerAddress: `,${keyPrefix(ATTR.peerAddress.key)}{"stringValue":`,
  peerPort: `}},${keyPrefix(ATTR.peerPort.key)}{"intValue":"`,
  roleClient: `"}},${pair(ATTR.handshakeRole.key, '{"stringValue":"client"}')}`,
  roleServer: `"}},${pair(ATTR.handshakeRole.key, '{"stringValue":"server"}')}`,
  pid: `,${keyPrefix(ATTR.processPid.key)}{"intValue":"`,
  afterPid: `"}},${keyPrefix(ATTR.processExecutableName.key)}{"stringValue":`,
  netns: `,${keyPrefix(ATTR.netnsInode.key)}{"intValue":"`,
  handshake: `"}},${keyPrefix(ATTR.tcpHandshakeDuration.key)}`,
  errorType: `},${keyPrefix(ATTR.errorType.key)}{"stringValue":`,
  fd: `,${keyPrefix(ATTR.socketFd.key)}{"intValue":"`,
  endPair: '}',
  endIntPair: '"}}',
  endStringPair: '}}',
  end: '],"droppedAttributesCount":0}',
});

const ACCEPT_NAME = fragment(EVENTS.accept.name);
const CONNECT_NAME = fragment(EVENTS.connect.name);

export class HandshakeRawLogRecord extends RawLogRecord implements OtlpJsonLogRecord, OtlpProtoLogRecord {
  /** `offset`: where the tcp_handshake_event starts in the batch's bytes. */
  constructor(batch: RawBatch, offset: number) {
    const bytes = batch.bytes;
    const kind = bytes[offset + F.kind.offset];
    if (kind !== CONSTANTS.TCP_HANDSHAKE_OUTCOME && kind !== CONSTANTS.TCP_HANDSHAKE_SYNC_FAILURE) {
      throw new HandshakeDecodeError(`unknown tcp_handshake event kind ${kind}`);
    }
    super(batch, offset, bytes[offset + F.role.offset] === CONSTANTS.TCP_HANDSHAKE_ROLE_SERVER ? EVENTS.accept.name : EVENTS.connect.name, F.timestamp_ns.offset);
  }

  /** Decodes the record at `offset`: throws HandshakeDecodeError for a record of another size or kind. */
  static decode(batch: RawBatch, offset: number, length: number): HandshakeRawLogRecord {
    if (length !== EVENT_SIZE) throw new HandshakeDecodeError(`tcp_handshake_event of ${length} bytes, expected ${EVENT_SIZE}`);
    return new HandshakeRawLogRecord(batch, offset);
  }

  protected get connectionHashOffset(): number {
    return F.connection_hash.offset;
  }

  protected buildAttributes(): Attributes {
    const cgroup = this.batch.cgroup(this.offset + F.cgroup_id.offset);
    return handshakeAttributes(decodeHandshakeEvent(this.batch.bytes, this.offset, EVENT_SIZE), (into) => Object.assign(into, cgroup.attributes));
  }

  private get isOutcome(): boolean {
    return this.batch.bytes[this.offset + F.kind.offset] === CONSTANTS.TCP_HANDSHAKE_OUTCOME;
  }

  attribute(key: string): AttributeValue | undefined {
    const bytes = this.batch.bytes;
    const o = this.offset;
    switch (key) {
      case ATTR.processLinuxCgroup.key:
        return this.batch.cgroup(o + F.cgroup_id.offset).cgroup;
      case ATTR.peerAddress.key:
        return this.batch.caches.address(bytes.readUInt16LE(o + F.family.offset), bytes, o + F.daddr.offset).text;
      case ATTR.peerPort.key:
        return bytes.readUInt16LE(o + F.dport.offset);
      case ATTR.errorType.key: {
        const error = bytes.readUInt32LE(o + F.error.offset);
        return error === 0 ? undefined : errnoName(error);
      }
      default:
        return KEYS.has(key) ? this.attributes[key] : undefined;
    }
  }

  /** This record's OTLP protobuf LogRecord fields, from its bytes (raw_proto.ts). */
  otlpProto(writer: ProtoWriter, appended: Uint8Array): void {
    writeHandshakeProto(this, writer, appended);
  }

  writeOtlpJson(w: JsonByteWriter, appended?: JsonFragment): void {
    const batch = this.batch;
    const bytes = batch.bytes;
    const o = this.offset;
    const family = bytes.readUInt16LE(o + F.family.offset);
    const peer = batch.caches.address(family, bytes, o + F.daddr.offset);
    const server = bytes[o + F.role.offset] === CONSTANTS.TCP_HANDSHAKE_ROLE_SERVER;
    writeRecordStart(w, this.hrTime, batch.observedNanos, server ? ACCEPT_NAME : CONNECT_NAME);
    w.bytes(peer.type === 'ipv4' ? J.startV4 : J.startV6);
    if (this.isOutcome) {
      w.bytes(J.localAddress);
      w.bytes(batch.caches.address(family, bytes, o + F.saddr.offset).json);
      // 0 when unknown (a blocking connect that failed): then no port, as handshakeAttributes does
      const localPort = bytes.readUInt16LE(o + F.sport.offset);
      if (localPort !== 0) {
        w.bytes(J.localPort);
        w.uint(localPort);
        w.bytes(J.endIntPair);
      } else {
        w.bytes(J.endStringPair);
      }
    }
    w.bytes(J.peerAddress);
    w.bytes(peer.json);
    w.bytes(J.peerPort);
    w.uint(bytes.readUInt16LE(o + F.dport.offset));
    w.bytes(server ? J.roleServer : J.roleClient);
    const pid = bytes.readUInt32LE(o + F.pid.offset);
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
    w.uint(bytes.readUInt32LE(o + F.netns_inode.offset));
    w.bytes(J.handshake);
    writeDecimalValue(w, u64Number(bytes, o + F.duration_ns.offset), 9);
    const error = bytes.readUInt32LE(o + F.error.offset);
    if (error !== 0) {
      w.bytes(J.errorType);
      w.string(errnoName(error));
      w.bytes(J.endPair);
    }
    w.bytes(J.endPair);
    const fd = bytes.readInt32LE(o + F.fd.offset);
    if (fd >= 0) {
      w.bytes(J.fd);
      w.uint(fd);
      w.bytes(J.endIntPair);
    }
    if (appended !== undefined && appended.length !== 0) {
      w.byte(0x2c);
      w.bytes(appended);
    }
    w.bytes(J.end);
  }
}
