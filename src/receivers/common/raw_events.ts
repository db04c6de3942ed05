// What records backed by raw kernel bytes (see tcp_lifecycle/raw_log_record.ts) share per
// receiver and per ring batch: addresses, cgroup attributes and key prefixes decoded or encoded
// once and cached, and the kernel-to-wall clock offset read once per batch. Every value here is
// produced by the same functions as the decoded path (formatAddress, cgroupAttributes,
// secondsFromNs, the OTLP/JSON fragments), so the two cannot disagree.
import type { Attributes, HrTime } from '@opentelemetry/api';
import { AF_INET, formatAddress, type IpAddress } from '../../host/ip_address';
import { ATTR } from '../../telemetry/attributes';
import { fragment, JsonByteWriter, type JsonFragment } from '../../telemetry/json_byte_writer';
import { attributesJson, writeNanos } from '../../telemetry/otlp_json_fragments';
import type { LogRecordContext } from './log_record_context';
import { u32be, u32le, u64leNumber } from './le_bytes';
import { cgroupAttributes } from './workload_attributes';

const TWO_32 = 4294967296;
/** 2^32 = 4 s + 294967296 ns: how a u64 nanosecond count splits into seconds without a bigint. */
const TWO_32_REST = 294967296;
/** Below this high word, hi * TWO_32_REST + lo stays under 2^53 (about 4 years of uptime). */
const SAFE_HIGH_WORD = 30_000_000;
const NS = 1_000_000_000;
const MAX_CACHED = 4096;

/** A u64 field as a number, rounded exactly as Number(bigint) rounds it. */
export function u64Number(buf: Buffer, offset: number): number {
  return u64leNumber(buf, offset);
}

/** An address with its JSON string literal, as bytes. */
export interface CachedAddress extends IpAddress {
  readonly json: JsonFragment;
}

/** The cgroup attributes of one cgroup id, as the map entries and as pre-encoded pairs. */
export interface CgroupEntry {
  /** `process.linux.cgroup` when the resolver named it. */
  readonly cgroup: string | undefined;
  readonly attributes: Attributes;
  /** The attributes as `{"key":…,"value":…}` pairs joined by commas (empty when none). */
  readonly json: JsonFragment;
}

/** Lives as long as its receiver. */
export class RawEventCaches {
  private readonly v4 = new Map<number, CachedAddress>();
  private readonly v6 = new Map<string, CachedAddress>();
  private readonly cgroupsByPath = new Map<string, CgroupEntry>();

  constructor(readonly context: LogRecordContext) {}

  /** formatAddress, cached by the address bytes. */
  address(family: number, buf: Buffer, offset: number): CachedAddress {
    let v4At = -1;
    if (family === AF_INET) v4At = offset;
    else if (isV4Mapped(buf, offset)) v4At = offset + 12;
    if (v4At >= 0) {
      const key = u32be(buf, v4At);
      let cached = this.v4.get(key);
      if (cached === undefined) {
        cached = withJson(formatAddress(family, buf, offset));
        if (this.v4.size >= MAX_CACHED) this.v4.clear();
        this.v4.set(key, cached);
      }
      return cached;
    }
    const key = buf.toString('latin1', offset, offset + 16);
    let cached = this.v6.get(key);
    if (cached === undefined) {
      cached = withJson(formatAddress(family, buf, offset));
      if (this.v6.size >= MAX_CACHED) this.v6.clear();
      this.v6.set(key, cached);
    }
    return cached;
  }

  /** cgroupAttributes for `cgroupId`, asking the resolver now; entries cached per path. */
  resolveCgroup(cgroupId: bigint): CgroupEntry {
    const attributes: Attributes = {};
    cgroupAttributes(this.context.cgroups, cgroupId, attributes);
    const cgroup = attributes[ATTR.processLinuxCgroup.key];
    if (typeof cgroup !== 'string') return { cgroup: undefined, attributes, json: fragment(attributesJson(attributes) ?? '') };
    let entry = this.cgroupsByPath.get(cgroup);
    if (entry === undefined) {
      entry = { cgroup, attributes, json: fragment(attributesJson(attributes) ?? '') };
      if (this.cgroupsByPath.size >= MAX_CACHED) this.cgroupsByPath.clear();
      this.cgroupsByPath.set(cgroup, entry);
    }
    return entry;
  }

  /** Per-batch state; `observed` is when the batch reached user space. */
  batch(batch: Buffer, observed: HrTime): RawBatch {
    return new RawBatch(this, batch, observed);
  }
}

function isV4Mapped(bytes: Buffer, offset: number): boolean {
  for (let i = 0; i < 10; i++) if (bytes[offset + i] !== 0) return false;
  return bytes[offset + 10] === 0xff && bytes[offset + 11] === 0xff;
}

function withJson(address: IpAddress): CachedAddress {
  return { text: address.text, type: address.type, json: fragment(JSON.stringify(address.text)) };
}

/**
 * One ring batch: the batch Buffer is the addon's own copy of the ring's bytes
 * (napi_create_buffer_copy per wake-up), so records may keep referring to it after the callback.
 */
export class RawBatch {
  /** The observed time's `"timeUnixNano"` digits, written once for the batch. */
  readonly observedNanos: JsonFragment;
  /** The clock's wall − monotonic offset, read once for the batch, split in seconds and ns. */
  private readonly offsetNs: bigint;
  private readonly offsetSeconds: number;
  private readonly offsetRest: number;
  /** Cgroup ids seen in this batch: the resolver is asked once per id and batch. */
  private readonly cgroupEntries = new Map<number, CgroupEntry>();

  constructor(
    readonly caches: RawEventCaches,
    readonly bytes: Buffer,
    readonly observed: HrTime,
  ) {
    const digits = new JsonByteWriter(32);
    writeNanos(digits, observed);
    this.observedNanos = digits.copyOut();
    this.offsetNs = caches.context.clock.currentOffsetNs();
    const seconds = this.offsetNs / 1_000_000_000n - (this.offsetNs < 0n && this.offsetNs % 1_000_000_000n !== 0n ? 1n : 0n);
    this.offsetSeconds = Number(seconds);
    this.offsetRest = Number(this.offsetNs - seconds * 1_000_000_000n);
  }

  /** MonotonicClock.toHrTime of the u64 timestamp at `offset`, without bigints. */
  hrTime(offset: number): HrTime {
    const lo = u32le(this.bytes, offset);
    const hi = u32le(this.bytes, offset + 4);
    if (hi >= SAFE_HIGH_WORD) {
      const wall = this.bytes.readBigUInt64LE(offset) + this.offsetNs;
      return [Number(wall / 1_000_000_000n), Number(wall % 1_000_000_000n)];
    }
    const middle = hi * TWO_32_REST + lo;
    let rest = middle % NS;
    let seconds = hi * 4 + (middle - rest) / NS + this.offsetSeconds;
    rest += this.offsetRest;
    if (rest >= NS) {
      rest -= NS;
      seconds++;
    }
    return [seconds, rest];
  }

  /** The cgroup entry of the u64 cgroup id at `offset`. */
  cgroup(offset: number): CgroupEntry {
    const lo = u32le(this.bytes, offset);
    const hi = u32le(this.bytes, offset + 4);
    // Ids beyond 2^53 (the overflow id is 2^64-1) are not cached: they would collide as numbers.
    if (hi >= 0x200000) return this.caches.resolveCgroup(this.bytes.readBigUInt64LE(offset));
    const key = lo + hi * TWO_32;
    let entry = this.cgroupEntries.get(key);
    if (entry === undefined) {
      entry = this.caches.resolveCgroup(BigInt(key));
      this.cgroupEntries.set(key, entry);
    }
    return entry;
  }
}

const RECORD_START = fragment('{"timeUnixNano":"');
const OBSERVED_START = fragment('","observedTimeUnixNano":"');
const BODY_EVENT_NAME = fragment('","body":{},"eventName":"');

/**
 * The opening of a raw record's OTLP/JSON LogRecord, up to and including its event name (a
 * fragment of its JSON string content, without quotes), written into `w`: the same for every
 * receiver's raw records.
 */
export function writeRecordStart(w: JsonByteWriter, hrTime: HrTime, observedNanos: JsonFragment, eventName: JsonFragment): void {
  w.bytes(RECORD_START);
  writeNanos(w, hrTime);
  w.bytes(OBSERVED_START);
  w.bytes(observedNanos);
  w.bytes(BODY_EVENT_NAME);
  w.bytes(eventName);
}

/**
 * The JSON string literal of a NUL-terminated latin1 field (comm), as stringJson(cString(…))
 * writes it: the field's bytes copied when they are all plain printable ASCII, else the decoded
 * text through JSON.stringify (latin1 bytes above 0x7f become two UTF-8 bytes, controls escapes).
 */
export function writeCommJson(w: JsonByteWriter, bytes: Buffer, start: number, size: number): void {
  let end = start;
  let plain = true;
  for (const limit = start + size; end < limit; end++) {
    const c = bytes[end];
    if (c === 0) break;
    if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) plain = false;
  }
  if (plain) {
    w.reserve(end - start + 2);
    w.byte(0x22);
    for (let i = start; i < end; i++) w.byte(bytes[i]);
    w.byte(0x22);
  } else {
    w.string(bytes.toString('latin1', start, end));
  }
}
