// A tcp_lifecycle record's OTLP protobuf LogRecord, written from its raw kernel bytes (the
// otlpProto capability of LifecycleRawLogRecord, src/telemetry/otlp_encodable.ts): the fields and
// attributes in the order lifecycleAttributes() puts them in the map and the generic encoder
// (otlp_proto_logs.ts) writes them, values derived as the decoded path derives them
// (secondsFromNs, secondsFromUs, Number of a u64). raw_proto.test.ts checks it byte for byte.
//
// Most of a record's ~700-900 bytes are the same from record to record: keys, the addresses, the
// cgroup path, the added k8s attributes. They are copied as a few runs glued once and cached
// (per local address, per peer address, per cgroup entry, per observed time and kind for the closing
// fields), each run ending with the head of the integer attribute that follows it up to its
// varint: [0x32, length, key, 0x12, any length, 0x18]. The two length bytes depend on the varint's
// width and are set after it is written. The record's room is reserved once, and the variable
// parts are written into the buffer directly: the writer is not called per field.
import type { HrTime } from '@opentelemetry/api';
import { ATTR } from '../../telemetry/attributes';
import { setBytes, writeDouble, writeHrTime, type ProtoWriter } from '../../telemetry/otlp_proto_writer';
import { ANY_DOUBLE, ANY_INT, ANY_STRING, KV_VALUE, LOG_ATTRIBUTES, protoBytes, stringAttributeProto } from '../../telemetry/otlp_proto_values';
import { AF_INET } from '../../host/ip_address';
import { u16le, u32le, u64leNumber } from '../common/le_bytes';
import type { CachedAddress, CgroupEntry } from '../common/raw_events';
import { cgroupFields, CONSTANT_FIELDS as C, KEYS, localAddressField, peerAddressField, writeCommField, writeNumberField } from '../common/raw_proto';
import { ENDS } from './decoder';
import type { LifecycleRawLogRecord } from './raw_log_record';
import { CONSTANTS, EVENT_FIELDS as F } from './layout';

// LogRecord field keys: (field number << 3) | wire type.
const LOG_TIME = 0x09; // time_unix_nano = 1, fixed64
const LOG_DROPPED = 0x38; // dropped_attributes_count = 7
const LOG_OBSERVED_TIME = 0x59; // observed_time_unix_nano = 11, fixed64
const LOG_EVENT_NAME = 0x62; // event_name = 12

/** The tcp.connection.end attribute field per end value, encoded once (the record checked it). */
const END_FIELDS: Record<number, Uint8Array> = Object.fromEntries(
  Object.entries(ENDS).map(([value, end]) => [value, stringAttributeProto(ATTR.tcpConnectionEnd.key, end)]),
);
const MAX_END_FIELD = Math.max(...Object.values(END_FIELDS).map((f) => f.length));

/** Cached runs and heads, glued once (never per record). */
function concat(...parts: Uint8Array[]): Uint8Array {
  return Buffer.concat(parts);
}

/**
 * The bytes an integer attribute field has before its varint, as writeUint32KeyValue writes them
 * when every length is one byte: [tag, length, key, KV_VALUE, any length, ANY_INT]. The two
 * lengths are 0 here and set per value (setUintLengths).
 */
function uintHead(key: Uint8Array): Uint8Array {
  // The longest value (a 5-byte varint) keeps the KeyValue's length within one byte.
  if (key.length + 8 > 0x7f) throw new Error(`attribute key field of ${key.length} bytes is too long for a one-byte KeyValue length`);
  return concat(new Uint8Array([LOG_ATTRIBUTES, 0]), key, new Uint8Array([KV_VALUE, 0, ANY_INT]));
}

/** A double attribute field's bytes before its 8 value bytes, as writeValueKeyValue writes them. */
function doubleHead(key: Uint8Array): Uint8Array {
  if (key.length + 11 > 0x7f) throw new Error(`attribute key field of ${key.length} bytes is too long for a one-byte KeyValue length`);
  return concat(new Uint8Array([LOG_ATTRIBUTES, key.length + 2 + 9]), key, new Uint8Array([KV_VALUE, 9, ANY_DOUBLE]));
}

/**
 * Sets the two lengths of the integer field whose head ends at `headEnd` (its varint ends at
 * `end`): the KeyValue's (`keyLength` is its key field's) and the AnyValue's.
 */
function setUintLengths(buf: Uint8Array, headEnd: number, end: number, keyLength: number): void {
  const any = 1 + end - headEnd;
  buf[headEnd - 2] = any;
  buf[headEnd - keyLength - 4] = keyLength + 2 + any;
}

/** A varint of an integer in [0, 2^32) at `p`; the position after. */
function varint32(buf: Uint8Array, p: number, value: number): number {
  let v = value >>> 0;
  while (v > 0x7f) {
    buf[p++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  buf[p++] = v;
  return p;
}

/** `bytes` copied to `p`; the position after (a loop below 16 bytes, where TypedArray.set costs more). */
function copy(buf: Uint8Array, p: number, bytes: Uint8Array): number {
  const n = bytes.length;
  if (n < 16) for (let i = 0; i < n; i++) buf[p + i] = bytes[i];
  else setBytes.call(buf, bytes, p);
  return p + n;
}

const H = {
  localPort: uintHead(KEYS.localPort),
  peerPort: uintHead(KEYS.peerPort),
  pid: uintHead(KEYS.pid),
  netns: uintHead(KEYS.netns),
  segmentsSent: uintHead(KEYS.segmentsSent),
  segmentsReceived: uintHead(KEYS.segmentsReceived),
  retransmits: uintHead(KEYS.retransmits),
};

/** A number attribute's two fast forms (integer in [0, 2^32), non-integer) and its key. */
interface NumberHeads {
  readonly key: Uint8Array;
  readonly uint: Uint8Array;
  readonly double: Uint8Array;
}

function numberHeads(key: Uint8Array): NumberHeads {
  return { key, uint: uintHead(key), double: doubleHead(key) };
}

const N = {
  handshake: numberHeads(KEYS.handshake),
  duration: numberHeads(KEYS.duration),
  bytesSent: numberHeads(KEYS.bytesSent),
  bytesReceived: numberHeads(KEYS.bytesReceived),
  rtt: numberHeads(KEYS.rtt),
};

/** Bytes a number field takes at most: the double form, or an int64 varint of 10 through writeValueKeyValue with its lengths. */
const numberBound = (heads: NumberHeads) => heads.key.length + 16;
const uintBound = (head: Uint8Array) => head.length + 5;

/** The comm field before its bytes: [tag, length, key, KV_VALUE, any length, ANY_STRING, string length]. */
const COMM_HEAD = concat(new Uint8Array([LOG_ATTRIBUTES, 0]), KEYS.comm, new Uint8Array([KV_VALUE, 0, ANY_STRING, 0]));
/** The comm's field at most: a non-ASCII comm of 16 latin1 chars is up to 32 bytes of UTF-8. */
const COMM_BOUND = COMM_HEAD.length + 2 * F.comm.size + 4;

/** Everything but the cached runs, the appended attributes and the closing fields, at most. */
const VARIABLE_BOUND =
  9 + // time
  5 + 5 + 5 + 5 + // the port, port, pid and netns varints
  COMM_BOUND +
  Math.max(
    numberBound(N.handshake),
    numberBound(N.duration) + numberBound(N.bytesSent) + numberBound(N.bytesReceived) + numberBound(N.rtt) +
      uintBound(H.segmentsSent) + uintBound(H.segmentsReceived) + uintBound(H.retransmits) + MAX_END_FIELD,
  );

// Runs cached per long-lived object (RawEventCaches' addresses and cgroup entries, as
// common/raw_proto.ts caches their fields), and the last one used: consecutive records mostly
// share their local address, often their peer and cgroup.
const localRuns = new WeakMap<CachedAddress, Uint8Array>();
const peerRuns = new WeakMap<CachedAddress, Uint8Array>();
const cgroupRuns = new WeakMap<CgroupEntry, Uint8Array>();

/** network.transport, network.type, network.local.address, then network.local.port's head. */
function localRun(address: CachedAddress): Uint8Array {
  let run = localRuns.get(address);
  if (run === undefined) localRuns.set(address, (run = concat(C.transport, address.type === 'ipv4' ? C.ipv4 : C.ipv6, localAddressField(address), H.localPort)));
  return run;
}

/** network.peer.address, then network.peer.port's head. */
function peerRun(address: CachedAddress): Uint8Array {
  let run = peerRuns.get(address);
  if (run === undefined) peerRuns.set(address, (run = concat(peerAddressField(address), H.peerPort)));
  return run;
}

/** The cgroup's fields, then tcp.netns.inode's head. */
function cgroupRun(entry: CgroupEntry): Uint8Array {
  let run = cgroupRuns.get(entry);
  if (run === undefined) cgroupRuns.set(entry, (run = concat(cgroupFields(entry), H.netns)));
  return run;
}

/** The role's field, then process.pid's head (when the event has a pid; without one, the role's field alone). */
const ROLE_RUNS = {
  client: concat(C.client, H.pid),
  server: concat(C.server, H.pid),
};

// The IPv4 address read last per side, with its run: records of one host repeat their local
// address, and a loopback or single-peer load its peer. Keyed by the address bytes (formatting
// them is a pure function), so the address cache is not even asked.
let lastLocalV4 = -1;
let lastLocalRun: Uint8Array = new Uint8Array(0);
let lastPeerV4 = -1;
let lastPeerRun: Uint8Array = new Uint8Array(0);
let lastCgroup: CgroupEntry | undefined;
let lastCgroupRun: Uint8Array = new Uint8Array(0);

// dropped_attributes_count 0, observed_time_unix_nano and event_name: the same for every record of
// a kind in a ring batch (one observed time per batch, one name per kind), kept for the observed
// time last seen (compared by value: an HrTime array may be reused).
let closingSeconds = -1;
let closingNanos = -1;
let closingByKind: (Uint8Array | undefined)[] = [];
let closingNames: (string | undefined)[] = [];

function closingFields(observed: HrTime, kind: number, eventName: string): Uint8Array {
  if (observed[0] !== closingSeconds || observed[1] !== closingNanos) {
    closingSeconds = observed[0];
    closingNanos = observed[1];
    closingByKind = [];
    closingNames = [];
  }
  let fields = closingByKind[kind];
  if (fields === undefined || closingNames[kind] !== eventName) {
    fields = protoBytes((w) => {
      w.byte(LOG_DROPPED);
      w.byte(0);
      w.byte(LOG_OBSERVED_TIME);
      w.hrTime(observed[0], observed[1]);
      w.byte(LOG_EVENT_NAME);
      w.string(eventName);
    });
    closingByKind[kind] = fields;
    closingNames[kind] = eventName;
  }
  return fields;
}

export function writeLifecycleProto(record: LifecycleRawLogRecord, w: ProtoWriter, appended: Uint8Array): void {
  const batch = record.batch;
  const bytes = batch.bytes;
  const o = record.offset;
  const family = u16le(bytes, o + F.family.offset);
  let local: Uint8Array;
  let peer: Uint8Array;
  if (family === AF_INET) {
    const localV4 = u32le(bytes, o + F.saddr.offset);
    if (localV4 !== lastLocalV4) {
      lastLocalRun = localRun(batch.caches.address(family, bytes, o + F.saddr.offset));
      lastLocalV4 = localV4;
    }
    local = lastLocalRun;
    const peerV4 = u32le(bytes, o + F.daddr.offset);
    if (peerV4 !== lastPeerV4) {
      lastPeerRun = peerRun(batch.caches.address(family, bytes, o + F.daddr.offset));
      lastPeerV4 = peerV4;
    }
    peer = lastPeerRun;
  } else {
    local = localRun(batch.caches.address(family, bytes, o + F.saddr.offset));
    peer = peerRun(batch.caches.address(family, bytes, o + F.daddr.offset));
  }
  const entry = batch.cgroup(o + F.cgroup_id.offset);
  if (entry !== lastCgroup) {
    lastCgroupRun = cgroupRun(entry);
    lastCgroup = entry;
  }
  const cgroup = lastCgroupRun;
  const kind = bytes[o + F.kind.offset];
  const closing = closingFields(record.hrTimeObserved, kind, record.eventName);

  w.ensure(VARIABLE_BOUND + local.length + peer.length + ROLE_RUNS.client.length + cgroup.length + appended.length + closing.length);
  let buf = w.buf;
  let p = w.pos;
  const time = record.hrTime;
  buf[p++] = LOG_TIME;
  p = writeHrTime(buf, p, time[0], time[1]);

  p = copy(buf, p, local);
  let head = p;
  p = varint32(buf, p, u16le(bytes, o + F.sport.offset));
  setUintLengths(buf, head, p, KEYS.localPort.length);

  p = copy(buf, p, peer);
  head = p;
  p = varint32(buf, p, u16le(bytes, o + F.dport.offset));
  setUintLengths(buf, head, p, KEYS.peerPort.length);

  const role = bytes[o + F.role.offset] === CONSTANTS.TCP_LIFECYCLE_ROLE_SERVER ? ROLE_RUNS.server : ROLE_RUNS.client;
  const pid = u32le(bytes, o + F.pid.offset);
  if (pid !== 0) {
    p = copy(buf, p, role);
    head = p;
    p = varint32(buf, p, pid);
    setUintLengths(buf, head, p, KEYS.pid.length);
    const after = writeAsciiComm(buf, p, bytes, o + F.comm.offset);
    if (after >= 0) p = after;
    else {
      w.pos = p;
      writeCommField(w, bytes, o + F.comm.offset, F.comm.size);
      buf = w.buf;
      p = w.pos;
    }
  } else {
    p = copy(buf, p, bytes[o + F.role.offset] === CONSTANTS.TCP_LIFECYCLE_ROLE_SERVER ? C.server : C.client);
  }

  p = copy(buf, p, cgroup);
  head = p;
  p = varint32(buf, p, u32le(bytes, o + F.netns_inode.offset));
  setUintLengths(buf, head, p, KEYS.netns.length);

  if (kind === CONSTANTS.TCP_LIFECYCLE_EVENT_CONNECT) {
    w.pos = p;
    writeNumber(w, N.handshake, u64leNumber(bytes, o + F.duration_ns.offset) / 1e9);
    buf = w.buf;
    p = w.pos;
  } else if (kind === CONSTANTS.TCP_LIFECYCLE_EVENT_CLOSE) {
    w.pos = p;
    writeNumber(w, N.duration, u64leNumber(bytes, o + F.duration_ns.offset) / 1e9);
    writeNumber(w, N.bytesSent, u64leNumber(bytes, o + F.bytes_sent.offset));
    writeNumber(w, N.bytesReceived, u64leNumber(bytes, o + F.bytes_received.offset));
    buf = w.buf;
    p = w.pos;
    p = copy(buf, p, H.segmentsSent);
    head = p;
    p = varint32(buf, p, u32le(bytes, o + F.segments_sent.offset));
    setUintLengths(buf, head, p, KEYS.segmentsSent.length);
    p = copy(buf, p, H.segmentsReceived);
    head = p;
    p = varint32(buf, p, u32le(bytes, o + F.segments_received.offset));
    setUintLengths(buf, head, p, KEYS.segmentsReceived.length);
    p = copy(buf, p, H.retransmits);
    head = p;
    p = varint32(buf, p, u32le(bytes, o + F.retransmits.offset));
    setUintLengths(buf, head, p, KEYS.retransmits.length);
    w.pos = p;
    writeNumber(w, N.rtt, u32le(bytes, o + F.srtt_us.offset) / 1e6);
    buf = w.buf;
    p = w.pos;
    p = copy(buf, p, END_FIELDS[bytes[o + F.end.offset]]);
  }
  if (appended.length > 0) p = copy(buf, p, appended);
  w.pos = copy(buf, p, closing);
}

/**
 * A number attribute field as writeValueKeyValue writes it: an integer in [0, 2^32) as int_value,
 * any other non-integer as double_value, both written here; the rest (integers from 2^32 on)
 * through writeNumberField. Room for the two fast forms was reserved by the record.
 */
function writeNumber(w: ProtoWriter, heads: NumberHeads, value: number): void {
  if (Number.isInteger(value)) {
    if (value >= 0 && value <= 0xffffffff) {
      const buf = w.buf;
      const head = copy(buf, w.pos, heads.uint);
      const end = varint32(buf, head, value);
      setUintLengths(buf, head, end, heads.key.length);
      w.pos = end;
    } else {
      writeNumberField(w, heads.key, value);
    }
    return;
  }
  const buf = w.buf;
  w.pos = writeDouble(buf, copy(buf, w.pos, heads.double), value);
}

/**
 * The process.executable.name field of the NUL-terminated comm at `start` when it is ASCII (its own
 * UTF-8), as common/raw_proto.ts's writeCommField writes it; -1 (nothing written) otherwise.
 */
function writeAsciiComm(buf: Uint8Array, p: number, bytes: Buffer, start: number): number {
  let end = start;
  const limit = start + F.comm.size;
  for (; end < limit; end++) {
    const b = bytes[end];
    if (b === 0) break;
    if (b > 0x7f) return -1;
  }
  const n = end - start;
  const at = copy(buf, p, COMM_HEAD);
  // comm is at most 16 bytes: every length is one byte.
  buf[at - 1] = n;
  buf[at - 3] = 2 + n;
  buf[p + 1] = KEYS.comm.length + 4 + n;
  let q = at;
  for (let i = start; i < end; i++) buf[q++] = bytes[i];
  return q;
}
