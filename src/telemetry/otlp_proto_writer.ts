// A small protobuf writer for the OTLP encoders: varints, fixed-width numbers, strings and
// length-delimited messages into one growing buffer.
//
// Every value is written with the same algorithm as @opentelemetry/otlp-transformer's
// ProtobufWriter (varints of negative and above-2^32 numbers, doubles, hrTime as fixed64), so
// that what this writer produces is byte-identical to the SDK's serializer, and a length prefix
// is always the minimal varint (a message reserved too few or too many bytes for its length is
// moved once its length is known).

/** Bytes a varint of `value` (0 ≤ value < 2^32) takes. */
export function varintSize32(value: number): number {
  if (value < 0x80) return 1;
  if (value < 0x4000) return 2;
  if (value < 0x200000) return 3;
  if (value < 0x10000000) return 4;
  return 5;
}

/** The bytes of a field key (field number and wire type), precomputed by callers. */
export function tagBytes(fieldNumber: number, wireType: number): number {
  return (fieldNumber << 3) | wireType;
}

const utf8 = new TextEncoder();

/**
 * TypedArray.prototype.set, called as `setBytes.call(buf, bytes, at)`: `buf.set` on a Buffer, from
 * optimized code, is a generic property load (V8's LoadIC builtin, Node 20) before the copy;
 * ~4 ns of the ~18 a short copy costs.
 */
export const setBytes = Uint8Array.prototype.set;

// A double's bytes through a Float64Array, as Buffer's writeDoubleLE does, without calling it:
// Buffer methods called from optimized code go through V8's generic property load IC (Node 20).
const float = new Float64Array(1);
const floatBytes = new Uint8Array(float.buffer);
const bigEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 0;

/** `value` as a little-endian IEEE double into `buf` at `p` (8 bytes, the caller made room); returns the position after. */
export function writeDouble(buf: Uint8Array, p: number, value: number): number {
  float[0] = value;
  if (bigEndian) for (let i = 0; i < 8; i++) buf[p + i] = floatBytes[7 - i];
  else for (let i = 0; i < 8; i++) buf[p + i] = floatBytes[i];
  return p + 8;
}

/**
 * An HrTime [seconds, nanoseconds] as fixed64 nanoseconds into `buf` at `p` (8 bytes, the caller
 * made room); returns the position after. Exact past 2^53: split in 16-bit parts, as the SDK
 * does, so that no product loses precision.
 */
export function writeHrTime(buf: Uint8Array, p: number, seconds: number, nanos: number): number {
  const lowerNanos = (seconds & 0xffff) * 1_000_000_000;
  const upperNanos = ((seconds / 0x10000) >>> 0) * 1_000_000_000;
  const low = (lowerNanos >>> 0) + (((upperNanos & 0xffff) * 0x10000) >>> 0) + nanos;
  const high = Math.floor(lowerNanos / 0x100000000) + ((upperNanos / 0x10000) >>> 0) + Math.floor(low / 0x100000000);
  // Byte by byte rather than through writeUInt32LE: both halves exceed 2^31 for today's times,
  // and passing them on would box each in a heap number, once per record.
  buf[p] = low & 0xff;
  buf[p + 1] = (low >>> 8) & 0xff;
  buf[p + 2] = (low >>> 16) & 0xff;
  buf[p + 3] = (low >>> 24) & 0xff;
  buf[p + 4] = high & 0xff;
  buf[p + 5] = (high >>> 8) & 0xff;
  buf[p + 6] = (high >>> 16) & 0xff;
  buf[p + 7] = (high >>> 24) & 0xff;
  return p + 8;
}

export class ProtoWriter {
  buf: Buffer;
  pos = 0;

  constructor(initialSize = 64 * 1024) {
    this.buf = Buffer.allocUnsafe(initialSize);
  }

  /** Empties the writer, keeping its buffer for the next message. */
  reset(): void {
    this.pos = 0;
  }

  /**
   * Empties the writer into a buffer of its own of `size` bytes: what is written next can be
   * handed out with take(), without a copy.
   */
  resetTo(size: number): void {
    this.buf = Buffer.allocUnsafe(size);
    this.pos = 0;
  }

  /**
   * Continues writing into `buf` at `pos` (a slab of reusable request buffers, see
   * otlp_proto_slabs.ts). Should a message outgrow it, ensure() moves the writer to a larger buffer
   * of its own (with a copy of `buf` up to there): the caller sees `this.buf !== buf`.
   */
  resetAt(buf: Buffer, pos: number): void {
    this.buf = buf;
    this.pos = pos;
  }

  /**
   * What was written, in the writer's buffer (the writer must get a new one with resetTo() before
   * it writes again); copied to an exact size when more than a quarter of the buffer is unused, so
   * that the bytes kept are not far more than the bytes counted.
   */
  take(): Buffer {
    if (this.pos < this.buf.length - (this.buf.length >>> 2)) return this.copy();
    return this.buf.subarray(0, this.pos);
  }

  /** A copy of what was written, sized exactly (the writer's buffer is reused). */
  copy(): Buffer {
    const out = Buffer.allocUnsafe(this.pos);
    this.buf.copy(out, 0, 0, this.pos);
    return out;
  }

  ensure(size: number): void {
    const needed = this.pos + size;
    if (needed <= this.buf.length) return;
    let length = this.buf.length * 2;
    while (length < needed) length *= 2;
    const grown = Buffer.allocUnsafe(length);
    this.buf.copy(grown, 0, 0, this.pos);
    this.buf = grown;
  }

  /** One byte (a tag of a field number below 16, or a small varint). */
  byte(value: number): void {
    this.ensure(1);
    this.buf[this.pos++] = value;
  }

  raw(bytes: Uint8Array): void {
    const length = bytes.length;
    this.ensure(length);
    const buf = this.buf;
    const at = this.pos;
    // A byte loop costs ~1.5 ns per byte on this path's machines, TypedArray.set ~20 ns whatever
    // the length (Node 20): the loop wins below ~16 bytes only (tags, short keys).
    if (length < 16) for (let i = 0; i < length; i++) buf[at + i] = bytes[i];
    else setBytes.call(buf, bytes, at);
    this.pos = at + length;
  }

  /** A varint of a non-negative integer below 2^32. */
  uint32(value: number): void {
    this.ensure(5);
    let v = value >>> 0;
    while (v > 0x7f) {
      this.buf[this.pos++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    this.buf[this.pos++] = v;
  }

  /**
   * A varint of any number, as the SDK writes int64 and enums: negative values in two's
   * complement over 64 bits, values from 2^32 split in 32-bit halves.
   */
  varint(value: number): void {
    if (value >= 0 && value <= 0xffffffff) {
      this.uint32(value);
      return;
    }
    this.ensure(10);
    let low: number;
    let high: number;
    if (value >= 0) {
      low = value >>> 0;
      high = (value / 0x100000000) >>> 0;
    } else {
      const abs = Math.abs(value);
      low = ~(abs >>> 0) >>> 0;
      high = ~((abs / 0x100000000) >>> 0) >>> 0;
      low = (low + 1) >>> 0;
      if (low === 0) high = (high + 1) >>> 0;
    }
    while (high > 0 || low > 0x7f) {
      this.buf[this.pos++] = (low & 0x7f) | 0x80;
      low = ((low >>> 7) | (high << 25)) >>> 0;
      high >>>= 7;
    }
    this.buf[this.pos++] = low & 0x7f;
  }

  fixed32(value: number): void {
    this.ensure(4);
    this.buf.writeUInt32LE(value >>> 0, this.pos);
    this.pos += 4;
  }

  fixed64(low: number, high: number): void {
    this.ensure(8);
    this.buf.writeUInt32LE(low >>> 0, this.pos);
    this.buf.writeUInt32LE(high >>> 0, this.pos + 4);
    this.pos += 8;
  }

  double(value: number): void {
    this.ensure(8);
    this.pos = writeDouble(this.buf, this.pos, value);
  }

  /**
   * An HrTime [seconds, nanoseconds] as fixed64 nanoseconds, exact past 2^53 (writeHrTime).
   */
  hrTime(seconds: number, nanos: number): void {
    this.ensure(8);
    this.pos = writeHrTime(this.buf, this.pos, seconds, nanos);
  }

  /** A length-prefixed UTF-8 string. */
  string(value: string): void {
    const length = value.length;
    // ASCII, the common case, is copied char by char; the length prefix is then the char count.
    if (length < 0x80) {
      this.ensure(length + 1);
      const buf = this.buf;
      let at = this.pos + 1;
      let i = 0;
      for (; i < length; i++) {
        const c = value.charCodeAt(i);
        if (c > 0x7f) break;
        buf[at++] = c;
      }
      if (i === length) {
        buf[this.pos] = length;
        this.pos = at;
        return;
      }
    }
    this.bytesOfString(value);
  }

  private bytesOfString(value: string): void {
    // Buffer.byteLength and TextEncoder agree, lone surrogates included (both write U+FFFD).
    const size = Buffer.byteLength(value, 'utf8');
    this.uint32(size);
    this.ensure(size);
    this.pos += this.buf.write(value, this.pos, size, 'utf8');
  }

  /** Length-prefixed bytes. */
  bytes(value: Uint8Array): void {
    this.uint32(value.length);
    this.raw(value);
  }

  /**
   * Starts a length-delimited message, reserving `reserve` bytes for its length (the size most
   * messages of its kind need); returns the mark to give to end().
   */
  begin(reserve: number): number {
    this.ensure(reserve);
    const mark = this.pos;
    this.pos += reserve;
    return mark * 8 + reserve;
  }

  /** Writes the length of the message begun at `mark`, moving its bytes if the guess was off. */
  end(mark: number): void {
    const reserve = mark & 7;
    const at = (mark - reserve) / 8;
    const start = at + reserve;
    const length = this.pos - start;
    const size = varintSize32(length);
    if (size !== reserve) {
      this.ensure(size - reserve);
      this.buf.copyWithin(at + size, start, this.pos);
      this.pos += size - reserve;
    }
    let v = length;
    let p = at;
    while (v > 0x7f) {
      this.buf[p++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    this.buf[p] = v;
  }
}

/** `value`'s UTF-8 bytes prefixed by `tag` and their length: a cacheable string field. */
export function stringField(tag: number, value: string): Uint8Array {
  const text = utf8.encode(value);
  const out = new Uint8Array(1 + varintSize32(text.length) + text.length);
  out[0] = tag;
  let p = 1;
  let v = text.length;
  while (v > 0x7f) {
    out[p++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  out[p++] = v;
  out.set(text, p);
  return out;
}
