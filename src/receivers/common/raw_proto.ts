// What records backed by raw kernel bytes share to write their own OTLP protobuf LogRecord
// (src/telemetry/otlp_encodable.ts, OtlpProtoLogRecord): attribute fields pre-encoded once per
// address, per cgroup entry and per constant value, and the record's opening and closing fields.
// Every fragment is made by the functions the generic encoder (otlp_proto_logs.ts) writes values
// with (src/telemetry/otlp_proto_values.ts), from the same values the decoded path puts in its
// attribute map, so the two cannot disagree; the receivers' raw_proto tests check it per byte.
import type { HrTime } from '@opentelemetry/api';
import { ATTR } from '../../telemetry/attributes';
import type { ProtoWriter } from '../../telemetry/otlp_proto_writer';
import {
  ANY_STRING,
  KV_VALUE,
  keyField,
  LOG_ATTRIBUTES,
  logAttributesProto,
  protoBytes,
  stringAttributeProto,
  writeStringKeyValue,
  writeUint32KeyValue,
  writeValueKeyValue,
} from '../../telemetry/otlp_proto_values';
import type { CachedAddress, CgroupEntry } from './raw_events';

// LogRecord field keys: (field number << 3) | wire type.
const LOG_TIME = 0x09; // time_unix_nano = 1, fixed64
const LOG_DROPPED = 0x38; // dropped_attributes_count = 7
const LOG_OBSERVED_TIME = 0x59; // observed_time_unix_nano = 11, fixed64
const LOG_EVENT_NAME = 0x62; // event_name = 12

/** Attribute fields whose value is one of a few constants, encoded once. */
export const CONSTANT_FIELDS = {
  transport: stringAttributeProto(ATTR.networkTransport.key, 'tcp'),
  ipv4: stringAttributeProto(ATTR.networkType.key, 'ipv4'),
  ipv6: stringAttributeProto(ATTR.networkType.key, 'ipv6'),
  client: stringAttributeProto(ATTR.handshakeRole.key, 'client'),
  server: stringAttributeProto(ATTR.handshakeRole.key, 'server'),
};

/** KeyValue.key fields of the attributes raw records write value by value. */
export const KEYS = {
  localPort: keyField(ATTR.localPort.key),
  peerPort: keyField(ATTR.peerPort.key),
  pid: keyField(ATTR.processPid.key),
  comm: keyField(ATTR.processExecutableName.key),
  netns: keyField(ATTR.netnsInode.key),
  handshake: keyField(ATTR.tcpHandshakeDuration.key),
  duration: keyField(ATTR.tcpDuration.key),
  bytesSent: keyField(ATTR.tcpBytesSent.key),
  bytesReceived: keyField(ATTR.tcpBytesReceived.key),
  segmentsSent: keyField(ATTR.tcpSegmentsSent.key),
  segmentsReceived: keyField(ATTR.tcpSegmentsReceived.key),
  retransmits: keyField(ATTR.tcpRetransmits.key),
  rtt: keyField(ATTR.tcpRtt.key),
  fd: keyField(ATTR.socketFd.key),
};

// Cached address and cgroup entries are long-lived objects of RawEventCaches: their fragments
// live as long as they do.
const localAddresses = new WeakMap<CachedAddress, Uint8Array>();
const peerAddresses = new WeakMap<CachedAddress, Uint8Array>();
const cgroups = new WeakMap<CgroupEntry, Uint8Array>();
const eventNames = new Map<string, Uint8Array>();

/** The network.local.address field of `address`. */
export function localAddressField(address: CachedAddress): Uint8Array {
  let field = localAddresses.get(address);
  if (field === undefined) localAddresses.set(address, (field = stringAttributeProto(ATTR.localAddress.key, address.text)));
  return field;
}

/** The network.peer.address field of `address`. */
export function peerAddressField(address: CachedAddress): Uint8Array {
  let field = peerAddresses.get(address);
  if (field === undefined) peerAddresses.set(address, (field = stringAttributeProto(ATTR.peerAddress.key, address.text)));
  return field;
}

/** The cgroup's attribute fields (process.linux.cgroup, tcp.cgroup.id or the overflow flag). */
export function cgroupFields(entry: CgroupEntry): Uint8Array {
  let fields = cgroups.get(entry);
  if (fields === undefined) cgroups.set(entry, (fields = logAttributesProto(entry.attributes)));
  return fields;
}

/** The event_name field of `name`. */
function eventNameField(name: string): Uint8Array {
  let field = eventNames.get(name);
  if (field === undefined) {
    field = protoBytes((w) => {
      w.byte(LOG_EVENT_NAME);
      w.string(name);
    });
    eventNames.set(name, field);
  }
  return field;
}

/** time_unix_nano: the first field of a raw record (no severity, no body follow it). */
export function writeRecordStart(w: ProtoWriter, time: HrTime): void {
  w.byte(LOG_TIME);
  w.hrTime(time[0], time[1]);
}

// dropped_attributes_count 0 and observed_time_unix_nano: the same for every record of a ring
// batch (one observed time per batch), encoded once per distinct observed time.
let observedSeconds = -1;
let observedNanos = -1;
let observedFields: Uint8Array = new Uint8Array(0);

function droppedAndObserved(observed: HrTime): Uint8Array {
  if (observed[0] !== observedSeconds || observed[1] !== observedNanos) {
    observedFields = protoBytes((w) => {
      w.byte(LOG_DROPPED);
      w.byte(0);
      w.byte(LOG_OBSERVED_TIME);
      w.hrTime(observed[0], observed[1]);
    });
    observedSeconds = observed[0];
    observedNanos = observed[1];
  }
  return observedFields;
}

/** After the attribute fields: `appended`, dropped_attributes_count 0, observed time, event name. */
export function writeRecordEnd(w: ProtoWriter, appended: Uint8Array, observed: HrTime, eventName: string): void {
  if (appended.length > 0) w.raw(appended);
  w.raw(droppedAndObserved(observed));
  w.raw(eventNameField(eventName));
}

/** An attribute field of an integer value in [0, 2^32) (ports, pids, counters, the netns inode). */
export function writeUint32Field(w: ProtoWriter, key: Uint8Array, value: number): void {
  w.byte(LOG_ATTRIBUTES);
  writeUint32KeyValue(w, key, value);
}

/** An attribute field of any number, as the generic encoder writes that number. */
export function writeNumberField(w: ProtoWriter, key: Uint8Array, value: number): void {
  w.byte(LOG_ATTRIBUTES);
  writeValueKeyValue(w, key, value);
}

/** An attribute field of a string value. */
export function writeStringField(w: ProtoWriter, key: Uint8Array, value: string): void {
  w.byte(LOG_ATTRIBUTES);
  writeStringKeyValue(w, key, value);
}

/**
 * The process.executable.name field of the NUL-terminated comm at `start` (at most `size` bytes),
 * as the decoders read it (latin1 up to the first NUL): ASCII is its own UTF-8 and is copied from
 * the bytes; anything else goes through the string.
 */
export function writeCommField(w: ProtoWriter, bytes: Buffer, start: number, size: number): void {
  let end = start;
  const limit = start + size;
  let ascii = true;
  for (; end < limit; end++) {
    const b = bytes[end];
    if (b === 0) break;
    if (b > 0x7f) ascii = false;
  }
  if (!ascii) {
    writeStringField(w, KEYS.comm, bytes.toString('latin1', start, end));
    return;
  }
  const n = end - start;
  const key = KEYS.comm;
  // comm is at most 16 bytes: every length here is one byte.
  w.byte(LOG_ATTRIBUTES);
  w.byte(key.length + 4 + n);
  w.raw(key);
  w.byte(KV_VALUE);
  w.byte(2 + n);
  w.byte(ANY_STRING);
  w.byte(n);
  w.ensure(n);
  const buf = w.buf;
  let at = w.pos;
  for (let i = start; i < end; i++) buf[at++] = bytes[i];
  w.pos = at;
}
