// Integers of kernel event records read byte by byte. Buffer's readUInt16LE/readUInt32LE, called
// from optimized code, go through V8's generic property load IC (Node 20): ~4x the cost of the
// arithmetic here, once per field of every record on the event path.

/** The little-endian u16 at `at`. */
export function u16le(b: Uint8Array, at: number): number {
  return b[at] | (b[at + 1] << 8);
}

/** The little-endian u32 at `at` (a non-negative number). */
export function u32le(b: Uint8Array, at: number): number {
  return (b[at] | (b[at + 1] << 8) | (b[at + 2] << 16)) + b[at + 3] * 0x1000000;
}

/** The big-endian u32 at `at` (a non-negative number). */
export function u32be(b: Uint8Array, at: number): number {
  return b[at] * 0x1000000 + ((b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]);
}

/** The little-endian u64 at `at` as a number, rounded exactly as Number(bigint) rounds it. */
export function u64leNumber(b: Uint8Array, at: number): number {
  return u32le(b, at) + u32le(b, at + 4) * 4294967296;
}
