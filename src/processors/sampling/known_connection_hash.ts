// A capability a log record may offer beside ReadableLogRecord: the connection hash of its own
// tuple, already computed (tcp_lifecycle and tcp_handshake records carry the kernel's, see
// src/receivers/common/record_connection_hash.ts). The sampling processor uses it instead of
// hashing the record's address and port attributes, and must decide exactly as if it had hashed
// them: the value is connectionUnit() of the record's local and peer endpoints, bit for bit.
//
// Like writeOtlpJson() (src/telemetry/otlp_encodable.ts) the method lives on the record's prototype: a
// processor that copies a record to change its attributes (`{ ...record, attributes }`) drops it by
// construction, so a changed address is hashed again rather than trusted.

export interface KnownConnectionHash {
  /** connectionUnit() of the record's tuple, in [0, 1); undefined when the record has none. */
  connectionHash(): number | undefined;
}

/** The record's own connection hash, when it offers one. */
export function knownConnectionHash(record: object): number | undefined {
  const method = (record as Partial<KnownConnectionHash>).connectionHash;
  return typeof method === 'function' ? method.call(record) : undefined;
}
