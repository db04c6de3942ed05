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

const FNV_OFFSET = 0xcbf29ce484222325n;
const FNV_PRIME = 0x100000001b3n;
const MASK = 0xffffffffffffffffn;
const IPPROTO_TCP = 6;
const ENDPOINT_BYTES = 18;

export interface Endpoint {
  readonly address: string;
  readonly port: number;
}

export function fnv1a64(bytes: Uint8Array): bigint {
  let hash = FNV_OFFSET;
  for (const byte of bytes) hash = ((hash ^ BigInt(byte)) * FNV_PRIME) & MASK;
  return hash;
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

function endpointBytes(e: Endpoint): Buffer {
  const out = Buffer.alloc(ENDPOINT_BYTES);
  addressBytes(e.address).copy(out, 0);
  out.writeUInt16BE(e.port & 0xffff, 16);
  return out;
}

/** The 37 canonical bytes: lower endpoint, higher endpoint, protocol. */
export function canonicalTuple(a: Endpoint, b: Endpoint): Buffer {
  const x = endpointBytes(a);
  const y = endpointBytes(b);
  const [low, high] = Buffer.compare(x, y) <= 0 ? [x, y] : [y, x];
  return Buffer.concat([low, high, Buffer.from([IPPROTO_TCP])]);
}

/** A uniform number in [0, 1) from the connection's canonical tuple. */
export function connectionUnit(a: Endpoint, b: Endpoint): number {
  return Number(fnv1a64(canonicalTuple(a, b)) >> 11n) / 2 ** 53;
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
