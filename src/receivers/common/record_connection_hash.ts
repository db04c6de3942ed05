// The `connection_hash` field the kernel appends to tcp_lifecycle and tcp_handshake event records
// (TCPSCOPE_CONNECTION_HASH_* in bpf/connection_sampling.h): the sampling processor's consistent
// hash of the record's own tuple, computed where the kernel already has the tuple, so that user
// space does not format, parse and hash two addresses again for every event it samples.
//
// Bits 0..52 hold hash >> 11, the integer k of the processor's unit number k / 2^53
// (connectionUnit() in src/processors/sampling/connection_hash.ts); bit 63 says the field is
// present. Read as two 32-bit halves: k = (high & 0x1fffff) * 2^32 + low is below 2^53, exact in a
// double, and k / 2^53 is a power-of-two scaling, also exact. So the value equals connectionUnit()
// of the same tuple bit for bit, not approximately (test/kernel/sampling_pushdown_hash.test.ts).
import { CONSTANTS as C } from './sampling_layout';

const PRESENT_HIGH_BIT = 2 ** (C.TCPSCOPE_CONNECTION_HASH_PRESENT_BIT - 32);
const UNIT_HIGH_MASK = 2 ** (C.TCPSCOPE_CONNECTION_HASH_UNIT_BITS - 32) - 1;
const TWO_32 = 2 ** 32;
const UNIT_SCALE = 2 ** C.TCPSCOPE_CONNECTION_HASH_UNIT_BITS;

/** The record's connection hash as a number in [0, 1), or undefined when the kernel wrote none. */
export function recordConnectionHash(bytes: Buffer, offset: number): number | undefined {
  const high = bytes.readUInt32LE(offset + 4);
  if (high < PRESENT_HIGH_BIT) return undefined;
  return ((high & UNIT_HIGH_MASK) * TWO_32 + bytes.readUInt32LE(offset)) / UNIT_SCALE;
}

/** The field's 8 bytes for a unit number k / 2^53 (tests and benchmarks that build records). */
export function connectionHashField(unit: number): Buffer {
  const k = unit * UNIT_SCALE;
  if (!Number.isInteger(k) || k < 0 || k >= UNIT_SCALE) throw new RangeError(`${unit} is not a 53-bit unit number k / 2^53`);
  const out = Buffer.alloc(8);
  out.writeUInt32LE(k % TWO_32, 0);
  out.writeUInt32LE(Math.floor(k / TWO_32) + PRESENT_HIGH_BIT, 4);
  return out;
}
