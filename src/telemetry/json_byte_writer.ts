// A growable byte buffer that OTLP/JSON is written into directly: pre-encoded fragments are
// copied, integers are written digit by digit, plain strings character by character. No string
// is built per record, so at line rate the event path leaves almost nothing for the garbage
// collector and never encodes the same text to UTF-8 twice. What it writes is what
// `Buffer.from(text, 'utf8')` gives for the text the string-building code would have produced:
// src/telemetry/json_byte_writer.test.ts and the exporters' tests hold it to that.

/** Pre-encoded bytes, written as they are (see fragment()). */
export type JsonFragment = Uint8Array;

/** The UTF-8 bytes of `text`, for fragments that are written many times. */
export function fragment(text: string): JsonFragment {
  return Buffer.from(text, 'utf8');
}

/** fragment() of every text of a table, under the same names. */
export function fragments<K extends string>(texts: Record<K, string>): Record<K, JsonFragment> {
  return Object.fromEntries(Object.entries<string>(texts).map(([name, text]) => [name, fragment(text)])) as Record<K, JsonFragment>;
}

// Strings made of these characters are their own JSON literal between quotes: printable ASCII
// except `"` and `\`.
const PLAIN = /^[\x20-\x21\x23-\x5b\x5d-\x7e]*$/;

/** 10^0 .. 10^15: a number below 2^53 has at most 16 digits. */
const POW10 = Array.from({ length: 16 }, (_, i) => 10 ** i);

/** "00".."99" as ASCII codes, two per number. */
const DIGIT_PAIRS = Uint8Array.from({ length: 200 }, (_, i) => 48 + (i & 1 ? (i >> 1) % 10 : Math.floor((i >> 1) / 10)));

/** Fragments up to this length are copied byte by byte (as fast as Buffer#set there, measured; at 64 slower). */
const SHORT = 24;

export class JsonByteWriter {
  /** The bytes written so far are buf[0, length). Replaced when it grows: never keep a reference across writes. */
  buf: Buffer;
  length = 0;

  constructor(capacity = 64 * 1024) {
    this.buf = Buffer.allocUnsafe(Math.max(64, capacity));
  }

  /** Makes room for `bytes` more bytes. */
  reserve(bytes: number): void {
    if (this.length + bytes > this.buf.length) this.grow(bytes);
  }

  private grow(bytes: number): void {
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.length + bytes));
    this.buf.copy(next, 0, 0, this.length);
    this.buf = next;
  }

  /** Forgets what was written (the buffer is kept for the next request). */
  reset(): void {
    this.length = 0;
  }

  /** Cuts back to an earlier length (a request that had to take another path). */
  truncate(length: number): void {
    if (length < this.length) this.length = length;
  }

  /** The bytes written so far as a new Buffer of their own (the writer's buffer is reused). */
  copyOut(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.length));
  }

  /** The bytes written so far as text. */
  toString(): string {
    return this.buf.toString('utf8', 0, this.length);
  }

  /** Pre-encoded bytes. */
  bytes(fragment: JsonFragment): void {
    const n = fragment.length;
    if (this.length + n > this.buf.length) this.grow(n);
    const buf = this.buf;
    let at = this.length;
    if (n <= SHORT) {
      for (let i = 0; i < n; i++) buf[at++] = fragment[i];
    } else {
      buf.set(fragment, at);
      at += n;
    }
    this.length = at;
  }

  /** One ASCII character, by code. */
  byte(code: number): void {
    if (this.length === this.buf.length) this.grow(1);
    this.buf[this.length++] = code;
  }

  /** Text the caller knows to be ASCII (number texts, JSON literals of plain strings). */
  ascii(text: string): void {
    const n = text.length;
    if (this.length + n > this.buf.length) this.grow(n);
    const buf = this.buf;
    let at = this.length;
    for (let i = 0; i < n; i++) buf[at++] = text.charCodeAt(i);
    this.length = at;
  }

  /** Any text, as UTF-8 (lone surrogates as U+FFFD, as Buffer.from does). */
  utf8(text: string): void {
    // UTF-8 takes at most 3 bytes per UTF-16 code unit.
    this.reserve(text.length * 3);
    this.length += this.buf.write(text, this.length, 'utf8');
  }

  /** A non-negative integer below 2^53, in decimal. */
  uint(value: number): void {
    let digits = 1;
    while (digits < 16 && value >= POW10[digits]) digits++;
    this.paddedUint(value, digits);
  }

  /** A non-negative integer below 2^53 and 10^width, left-padded with zeros to `width` digits. */
  paddedUint(value: number, width: number): void {
    if (this.length + width > this.buf.length) this.grow(width);
    const buf = this.buf;
    const start = this.length;
    let at = start + width;
    this.length = at;
    let v = value;
    // Above 2^31 in doubles, exactly: (v - digit) / 10 is exact where Math.floor(v / 10) can round up.
    while (v > 0x7fffffff && at > start) {
      const digit = v % 10;
      buf[--at] = 48 + digit;
      v = (v - digit) / 10;
    }
    // Below, in 32-bit integers, two digits at a time.
    let n = v | 0;
    while (at - start >= 2) {
      const q = (n / 100) | 0;
      const pair = (n - q * 100) << 1;
      buf[--at] = DIGIT_PAIRS[pair + 1];
      buf[--at] = DIGIT_PAIRS[pair];
      n = q;
    }
    if (at > start) buf[--at] = 48 + (n % 10);
  }

  /** A JSON string literal of `value`, exactly as JSON.stringify writes it, in UTF-8. */
  string(value: string): void {
    if (PLAIN.test(value)) {
      this.byte(0x22);
      this.ascii(value);
      this.byte(0x22);
    } else {
      this.utf8(JSON.stringify(value));
    }
  }
}
