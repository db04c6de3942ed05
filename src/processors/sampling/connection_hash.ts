// A consistent hash of a connection's canonical 5-tuple: both endpoints sorted, so the client's
// and the server's records of one connection, its connect, accept and close, and two agents on
// two nodes all get the same value.
//
// The canonical form is binary so that a BPF program can compute the same hash from a socket
// (the kernel push-down): each endpoint is 18 bytes, the address as IPv6 (IPv4 as ::ffff:a.b.c.d,
// so a v4-mapped socket hashes like a plain IPv4 one) followed by the port big-endian; the two
// endpoints in ascending byte order, then the protocol number (6). FNV-1a 64 over those 37 bytes,
// then MurmurHash3's 64-bit finaliser (fmix64); the top 53 bits make a number in [0, 1). This
// is a contract: changing it changes every decision.
//
// Why the finaliser: FNV-1a barely moves the top bits when only the last bytes change, and the
// last bytes are a port. Without it, a client's run of sequential ephemeral ports got nearly the
// same top bits: in runs of 200 ports, anywhere from 0% to 100% were kept at ratio 0.25.
import { isIPv4, isIPv6 } from 'node:net';

const FNV_OFFSET_HIGH = 0xcbf29ce4;
const FNV_OFFSET_LOW = 0x84222325;
const FNV_PRIME_LOW = 0x1b3; // the prime is 2^40 + 0x1b3
const TWO_32 = 2 ** 32;
const IPPROTO_TCP = 6;
const ENDPOINT_BYTES = 18;

export interface Endpoint {
  readonly address: string;
  readonly port: number;
}

/**
 * FNV-1a 64 as its high and low 32-bit halves. Every intermediate product stays below 2^42, so
 * doubles hold it exactly and this is the 64-bit definition bit for bit, without a BigInt
 * operation per byte (this runs for every event the processor sees). Multiplying by
 * 2^40 + 0x1b3 modulo 2^64: low' = low * 0x1b3 mod 2^32; high' = high * 0x1b3 + the carry out of
 * low * 0x1b3 + low * 2^8 (the 2^40 term), mod 2^32.
 */
function fnv1a64Halves(bytes: Uint8Array): [high: number, low: number] {
  let high = FNV_OFFSET_HIGH;
  let low = FNV_OFFSET_LOW;
  for (let i = 0; i < bytes.length; i++) {
    low = (low ^ bytes[i]) >>> 0;
    const lowProduct = low * FNV_PRIME_LOW;
    high = (high * FNV_PRIME_LOW + Math.floor(lowProduct / TWO_32) + low * 256) % TWO_32;
    low = lowProduct % TWO_32;
  }
  return [high, low];
}

/** The low 64 bits of (aHigh:aLow) * (bHigh:bLow), as halves; 16-bit limbs keep doubles exact. */
function multiply64(aHigh: number, aLow: number, bHigh: number, bLow: number): [high: number, low: number] {
  const a0 = aLow & 0xffff;
  const a1 = aLow >>> 16;
  const b0 = bLow & 0xffff;
  const b1 = bLow >>> 16;
  const p00 = a0 * b0;
  const p01 = a0 * b1;
  const p10 = a1 * b0;
  const middle = (p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff);
  const low = (((middle & 0xffff) << 16) | (p00 & 0xffff)) >>> 0;
  const carry = (middle >>> 16) + (p01 >>> 16) + (p10 >>> 16) + a1 * b1; // high half of aLow * bLow
  return [(carry + Math.imul(aHigh, bLow) + Math.imul(aLow, bHigh)) >>> 0, low];
}

/** h ^= h >> 33 on halves. */
function xorShift33(high: number, low: number): [number, number] {
  return [high, (low ^ (high >>> 1)) >>> 0];
}

/** MurmurHash3's fmix64: every input bit reaches every output bit. */
function fmix64Halves(high: number, low: number): [high: number, low: number] {
  [high, low] = xorShift33(high, low);
  [high, low] = multiply64(high, low, 0xff51afd7, 0xed558ccd);
  [high, low] = xorShift33(high, low);
  [high, low] = multiply64(high, low, 0xc4ceb9fe, 0x1a85ec53);
  return xorShift33(high, low);
}

export function fmix64(value: bigint): bigint {
  const [high, low] = fmix64Halves(Number(value >> 32n), Number(value & 0xffffffffn));
  return (BigInt(high) << 32n) | BigInt(low);
}

export function fnv1a64(bytes: Uint8Array): bigint {
  const [high, low] = fnv1a64Halves(bytes);
  return (BigInt(high) << 32n) | BigInt(low);
}

/** The 16-byte IPv6 form of an address (IPv4 as ::ffff:a.b.c.d); zeros when it is not an IP. */
export function addressBytes(address: string): Buffer {
  const out = Buffer.alloc(16);
  if (isIPv4(address)) {
    out[10] = 0xff;
    out[11] = 0xff;
    address.split('.').forEach((octet, i) => (out[12 + i] = Number(octet)));
    return out;
  }
  if (!isIPv6(address)) return out;
  const v4Tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(address);
  let text = address;
  if (v4Tail) {
    const v4 = addressBytes(v4Tail[1]);
    text = address.slice(0, -v4Tail[1].length) + `${v4.readUInt16BE(12).toString(16)}:${v4.readUInt16BE(14).toString(16)}`;
  }
  const [head, tail = ''] = text.split('::');
  const headGroups = head ? head.split(':') : [];
  const tailGroups = tail ? tail.split(':') : [];
  const groups = text.includes('::') ? [...headGroups, ...new Array<string>(8 - headGroups.length - tailGroups.length).fill('0'), ...tailGroups] : headGroups;
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), 2 * i));
  return out;
}

/** Writes an endpoint's 18 canonical bytes at `offset`. */
function writeEndpoint(out: Buffer, offset: number, e: Endpoint): void {
  addressBytes(e.address).copy(out, offset);
  out.writeUInt16BE(e.port & 0xffff, offset + 16);
}

/** The 37 canonical bytes: lower endpoint, higher endpoint, protocol. */
export function canonicalTuple(a: Endpoint, b: Endpoint): Buffer {
  // One buffer, endpoints rewritten in the other order when needed: this runs for every event.
  const out = Buffer.alloc(2 * ENDPOINT_BYTES + 1);
  writeEndpoint(out, 0, a);
  writeEndpoint(out, ENDPOINT_BYTES, b);
  if (out.compare(out, ENDPOINT_BYTES, 2 * ENDPOINT_BYTES, 0, ENDPOINT_BYTES) > 0) {
    writeEndpoint(out, 0, b);
    writeEndpoint(out, ENDPOINT_BYTES, a);
  }
  out[2 * ENDPOINT_BYTES] = IPPROTO_TCP;
  return out;
}

function connectionHashHalves(a: Endpoint, b: Endpoint): [high: number, low: number] {
  const [high, low] = fnv1a64Halves(canonicalTuple(a, b));
  return fmix64Halves(high, low);
}

/** The connection's 64-bit hash: fmix64(FNV-1a 64(canonical tuple)). */
export function connectionHash(a: Endpoint, b: Endpoint): bigint {
  const [high, low] = connectionHashHalves(a, b);
  return (BigInt(high) << 32n) | BigInt(low);
}

/** A uniform number in [0, 1) from the connection's canonical tuple. */
export function connectionUnit(a: Endpoint, b: Endpoint): number {
  // hash >> 11 = high * 2^21 + (low >> 11): below 2^53, exact in a double
  const [high, low] = connectionHashHalves(a, b);
  return (high * 2 ** 21 + (low >>> 11)) / 2 ** 53;
}

/**
 * The integer c for which `connectionUnit(a, b) < ratio` holds exactly when `(hash >> 11) < c`:
 * what the kernel push-down compares with. The unit is k / 2^53 for the integer k = hash >> 11,
 * ratio * 2^53 is exact in a double (a power-of-two scaling), and for an integer k,
 * k < x holds exactly when k < ceil(x). So c = 0 keeps nothing and c = 2^53 (ratio 1) everything.
 */
export function hashCutoff(ratio: number): bigint {
  return BigInt(Math.ceil(ratio * 2 ** 53));
}
