// A consistent hash of a connection's canonical 5-tuple: both endpoints sorted, so the client's
// and the server's records of one connection, and its connect, accept and close, and two agents
// on two nodes all get the same value. FNV-1a 64 over a fixed text form: simple, fast, stable
// across processes and versions (the text form is part of the contract, see README).

const FNV_OFFSET = 0xcbf29ce484222325n;
const FNV_PRIME = 0x100000001b3n;
const MASK = 0xffffffffffffffffn;

export function fnv1a64(text: string): bigint {
  let hash = FNV_OFFSET;
  for (let i = 0; i < text.length; i++) {
    hash ^= BigInt(text.charCodeAt(i) & 0xff);
    hash = (hash * FNV_PRIME) & MASK;
    const high = text.charCodeAt(i) >> 8;
    if (high) {
      hash ^= BigInt(high);
      hash = (hash * FNV_PRIME) & MASK;
    }
  }
  return hash;
}

export interface Endpoint {
  readonly address: string;
  readonly port: number;
}

/** `tcp|<lower endpoint>|<higher endpoint>` with endpoints as `address#port`, sorted as text. */
export function canonicalTuple(a: Endpoint, b: Endpoint): string {
  const x = `${a.address}#${a.port}`;
  const y = `${b.address}#${b.port}`;
  return x <= y ? `tcp|${x}|${y}` : `tcp|${y}|${x}`;
}

/** A uniform number in [0, 1) from the connection's canonical tuple. */
export function connectionUnit(a: Endpoint, b: Endpoint): number {
  // The top 53 bits make an exact double in [0, 1).
  return Number(fnv1a64(canonicalTuple(a, b)) >> 11n) / 2 ** 53;
}
