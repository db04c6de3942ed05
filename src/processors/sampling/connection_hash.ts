// A consistent hash of a connection's canonical 5-tuple: both endpoints sorted, so the client's
// and the server's records of one connection, its connect, accept and close, and two agents on
// two nodes all get the same value.
//
// The canonical form is binary so that a BPF program can compute the same hash from a socket
// (the kernel push-down): each endpoint is 18 bytes, the address as IPv6 (IPv4 as ::ffff:a.b.c.d,
// so a v4-mapped socket hashes like a plain IPv4 one) followed by the port big-endian; the two
// endpoints in ascending byte order, then the protocol number (6). FNV-1a 64 over those 37 bytes;
// the top 53 bits make a number in [0, 1). This byte form is a contract: changing it changes
// every decision.
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

/** A uniform number in [0, 1) from the connection's canonical tuple. */
export function connectionUnit(a: Endpoint, b: Endpoint): number {
  // hash >> 11 = high * 2^21 + (low >> 11): below 2^53, exact in a double
  const [high, low] = fnv1a64Halves(canonicalTuple(a, b));
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
