// Reading the few fields of OTLP export responses that exporters need, without generated
// protobuf code: the partial_success of an Export{Metrics,Logs}ServiceResponse (gRPC and
// OTLP/HTTP alike) and a google.rpc.Status's message (OTLP/HTTP failures).

export interface PartialSuccess {
  /** rejected_data_points or rejected_log_records: the same field number in both responses. */
  readonly rejected: number;
  readonly errorMessage: string;
}

/**
 * Export{Metrics,Logs}ServiceResponse.partial_success = 1 { rejected_* = 1 (int64),
 * error_message = 2 }; undefined when absent or empty (full success). Throws on malformed input.
 */
export function protoPartialSuccess(body: Buffer): PartialSuccess | undefined {
  let found: PartialSuccess | undefined;
  for (const field of protoFieldsOf(body)) {
    if (field.number !== 1 || field.bytes === undefined) continue;
    let rejected = 0;
    let message = '';
    for (const inner of protoFieldsOf(field.bytes)) {
      if (inner.number === 1 && inner.varint !== undefined) rejected = inner.varint;
      else if (inner.number === 2 && inner.bytes !== undefined) message = inner.bytes.toString('utf8');
    }
    found = { rejected, errorMessage: message };
  }
  return found && (found.rejected !== 0 || found.errorMessage !== '') ? found : undefined;
}

export interface ProtoField {
  readonly number: number;
  /** Varint fields; exact below 2^53. */
  readonly varint?: number;
  readonly bytes?: Buffer;
}

/** The fields of a protobuf message; throws on malformed input. */
export function protoFieldsOf(buf: Buffer): ProtoField[] {
  const fields: ProtoField[] = [];
  let pos = 0;
  const varint = (): number => {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (pos >= buf.length) throw new Error('truncated varint');
      const byte = buf[pos++];
      result += (byte & 0x7f) * scale;
      if (byte < 0x80) return result;
      scale *= 128;
    }
    throw new Error('varint longer than 10 bytes');
  };
  while (pos < buf.length) {
    const key = varint();
    const number = Math.floor(key / 8);
    const wire = key & 7;
    if (wire === 0) fields.push({ number, varint: varint() });
    else if (wire === 1) pos += 8;
    else if (wire === 5) pos += 4;
    else if (wire === 2) {
      const length = varint();
      if (pos + length > buf.length) throw new Error('truncated field');
      fields.push({ number, bytes: buf.subarray(pos, pos + length) });
      pos += length;
    } else throw new Error(`unsupported wire type ${wire}`);
    if (pos > buf.length) throw new Error('truncated field');
  }
  return fields;
}
