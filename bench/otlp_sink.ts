// A loopback OTLP/gRPC logs receiver for `npm run bench`'s otlp modes that only counts: it answers
// every LogsService/Export at once and keeps, per log record, its event name and its local and
// peer ports (scanned from the protobuf, never decoded into objects), so that the benchmark can
// count the records of its own connections. It runs as a process of its own, so that its CPU is
// measured apart from the agent's.
//
//   node dist/bench/otlp_sink.js RESULT_PATH
//
// Prints `listening PORT` once bound. On SIGTERM it reads RESULT_PATH.ports (a JSON array of the
// load's server ports, written by the benchmark), writes the counts to RESULT_PATH as JSON
// (SinkCounts) and exits.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { LOGS_EXPORT_PATH } from '../src/exporters/otlp/logs_grpc_sender';
import { ATTR } from '../src/telemetry/attributes';

export interface SinkCounts {
  /** Every record received. */
  readonly total: number;
  /** Records of the load's connections (local or peer port a server port), by event name. */
  readonly ours: Record<string, number>;
  readonly oursTotal: number;
  readonly requests: number;
}

const LOCAL_PORT = Buffer.from(ATTR.localPort.key);
const PEER_PORT = Buffer.from(ATTR.peerPort.key);

/** Per record: name index, local port, peer port (0 when absent), in growable columns. */
class Columns {
  /** event names seen, and the same as bytes, by index */
  readonly names: string[] = [];
  private readonly nameBytes: Buffer[] = [];
  name = new Uint8Array(1 << 16);
  local = new Uint16Array(1 << 16);
  peer = new Uint16Array(1 << 16);
  length = 0;

  /** The index of the event name in buf[start, end) (empty: a record without one), decoded once. */
  nameOf(buf: Buffer, start: number, end: number): number {
    for (let i = 0; i < this.nameBytes.length; i++) {
      if (sameBytes(buf, start, end - start, this.nameBytes[i])) return i;
    }
    const name = buf.toString('latin1', start, end);
    this.nameBytes.push(Buffer.from(name, 'latin1'));
    return this.names.push(name) - 1;
  }

  push(nameIndex: number, local: number, peer: number): void {
    if (this.length === this.name.length) this.grow();
    this.name[this.length] = nameIndex;
    this.local[this.length] = local;
    this.peer[this.length] = peer;
    this.length++;
  }

  private grow(): void {
    const size = this.name.length * 2;
    const name = new Uint8Array(size);
    name.set(this.name);
    const local = new Uint16Array(size);
    local.set(this.local);
    const peer = new Uint16Array(size);
    peer.set(this.peer);
    Object.assign(this, { name, local, peer });
  }
}

/**
 * A protobuf scanner over one request with no allocation per field: the receiver shares the two
 * cores with the load and the agent, so every microsecond it spends per record is taken from what
 * the benchmark measures. (A scan with a closure per nested message, a subarray per attribute key
 * and a string per event name cost 4.7 us per record here; this one about a tenth of that.)
 */
class RequestScanner {
  private pos = 0;

  constructor(
    private readonly buf: Buffer,
    private readonly columns: Columns,
  ) {}

  private varint(): number {
    const buf = this.buf;
    let result = 0;
    let scale = 1;
    for (;;) {
      const byte = buf[this.pos++];
      result += (byte & 0x7f) * scale;
      if (byte < 0x80) return result;
      scale *= 128;
    }
  }

  /** Skips the value of a field of wire type `wire` (the key already read). */
  private skip(wire: number): void {
    if (wire === 0) this.varint();
    else if (wire === 1) this.pos += 8;
    else if (wire === 5) this.pos += 4;
    else if (wire === 2) {
      const length = this.varint(); // read first: `this.pos += this.varint()` would add to the old pos
      this.pos += length;
    }
    else throw new Error(`wire type ${wire}`);
  }

  /** Calls `inside` for every length-delimited field `field` of [pos, end), skipping the rest. */
  private each(end: number, field: number, inside: (end: number) => void): void {
    while (this.pos < end) {
      const key = this.varint();
      if (key === ((field << 3) | 2)) {
        const length = this.varint();
        const stop = this.pos + length;
        inside(stop);
        this.pos = stop;
      } else this.skip(key & 7);
    }
  }

  scan(): void {
    // ExportLogsServiceRequest.resource_logs(1) > ResourceLogs.scope_logs(2) > ScopeLogs.log_records(2)
    this.each(this.buf.length, 1, (resourceEnd) =>
      this.each(resourceEnd, 2, (scopeEnd) => this.each(scopeEnd, 2, (recordEnd) => this.record(recordEnd))),
    );
  }

  private record(end: number): void {
    const buf = this.buf;
    let name = -1;
    let local = 0;
    let peer = 0;
    while (this.pos < end) {
      const key = this.varint();
      if (key === ((12 << 3) | 2)) {
        // event_name
        const length = this.varint();
        name = this.columns.nameOf(buf, this.pos, this.pos + length);
        this.pos += length;
      } else if (key === ((6 << 3) | 2)) {
        // attributes: KeyValue { key(1) string, value(2) AnyValue { int_value(3) } }
        const stop = this.varint() + this.pos;
        let which = 0;
        let value = 0;
        while (this.pos < stop) {
          const k = this.varint();
          if (k === ((1 << 3) | 2)) {
            const length = this.varint();
            which = sameBytes(buf, this.pos, length, LOCAL_PORT) ? 1 : sameBytes(buf, this.pos, length, PEER_PORT) ? 2 : 0;
            this.pos += length;
          } else if (k === ((2 << 3) | 2) && which !== 0) {
            const valueEnd = this.varint() + this.pos;
            while (this.pos < valueEnd) {
              const vk = this.varint();
              if (vk === ((3 << 3) | 0)) value = this.varint();
              else this.skip(vk & 7);
            }
          } else this.skip(k & 7);
        }
        this.pos = stop;
        if (which === 1) local = value;
        else if (which === 2) peer = value;
      } else this.skip(key & 7);
    }
    this.columns.push(name < 0 ? this.columns.nameOf(buf, 0, 0) : name, local, peer);
  }
}

/** Whether buf[at, at + length) holds exactly `expected` (lengths differ for most keys: no call). */
function sameBytes(buf: Buffer, at: number, length: number, expected: Buffer): boolean {
  if (length !== expected.length) return false;
  // A loop, not Buffer.compare: its argument checks cost more than these short keys.
  for (let i = length - 1; i >= 0; i--) if (buf[at + i] !== expected[i]) return false;
  return true;
}

function scanRequest(buf: Buffer, columns: Columns): void {
  new RequestScanner(buf, columns).scan();
}

function count(columns: Columns, serverPorts: ReadonlySet<number>, requests: number): SinkCounts {
  const ours: Record<string, number> = {};
  let oursTotal = 0;
  for (let i = 0; i < columns.length; i++) {
    if (serverPorts.has(columns.local[i]) || serverPorts.has(columns.peer[i])) {
      const name = columns.names[columns.name[i]] || '(none)';
      ours[name] = (ours[name] ?? 0) + 1;
      oursTotal++;
    }
  }
  return { total: columns.length, ours, oursTotal, requests };
}

/** The whole body of one request stream, in a buffer reused (and grown) across requests. */
class BodyBuffer {
  private buf = Buffer.allocUnsafe(4 << 20);
  length = 0;

  append(chunk: Buffer): void {
    if (this.length + chunk.length > this.buf.length) {
      const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.length + chunk.length));
      this.buf.copy(bigger, 0, 0, this.length);
      this.buf = bigger;
    }
    chunk.copy(this.buf, this.length);
    this.length += chunk.length;
  }

  /** The gRPC message of the body: one length-prefixed frame (flag byte, 4-byte length). */
  message(): Buffer {
    if (this.length < 5) throw new Error(`a ${this.length}-byte body holds no gRPC frame`);
    const size = this.buf.readUInt32BE(1);
    const payload = this.buf.subarray(5, 5 + size);
    return this.buf[0] === 1 ? gunzipSync(payload) : payload;
  }
}

/** An empty ExportLogsServiceResponse in its gRPC frame. */
const EMPTY_RESPONSE = Buffer.alloc(5);
const STREAM_WINDOW_BYTES = 8 * 1024 * 1024;
const CONNECTION_WINDOW_BYTES = 16 * 1024 * 1024;

/*
 * gRPC over node:http2 directly, not @grpc/grpc-js's Server: the receiver shares the two cores with
 * the load and the agent, and grpc-js's per-request work (a Buffer per data chunk joined into one,
 * interceptors, metadata objects) cost about as much CPU per record as the scan. Requests to any
 * other path are answered UNIMPLEMENTED.
 */
async function main(resultPath: string): Promise<void> {
  const columns = new Columns();
  let requests = 0;
  const body = new BodyBuffer();
  // Flow-control windows as a Collector's end up on loopback: grpc-go (the Collector's gRPC server)
  // grows its windows by bandwidth-delay estimation up to 16 MiB. node:http2's default 64 KiB
  // windows would have the agent wait for and read a WINDOW_UPDATE every 64 KiB, about 18% of its
  // samples on this path (measured with perf): a cost of this receiver, not of the exporter.
  const server = createServer({ settings: { initialWindowSize: STREAM_WINDOW_BYTES } });
  server.on('session', (session) => session.setLocalWindowSize(CONNECTION_WINDOW_BYTES));
  server.on('stream', (stream, headers) => {
    if (headers[':path'] !== LOGS_EXPORT_PATH) {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '12' }, { endStream: true });
      return;
    }
    // Streams are read one after the other here: the agent sends one request at a time.
    body.length = 0;
    stream.on('data', (chunk: Buffer) => body.append(chunk));
    stream.on('end', () => {
      requests++;
      scanRequest(body.message(), columns);
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      stream.end(EMPTY_RESPONSE);
    });
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
  process.stdout.write(`listening ${port}\n`);
  process.once('SIGTERM', () => {
    const portsPath = `${resultPath}.ports`;
    const ports = existsSync(portsPath) ? new Set<number>(JSON.parse(readFileSync(portsPath, 'utf8')) as number[]) : new Set<number>();
    writeFileSync(resultPath, JSON.stringify(count(columns, ports, requests)));
    process.exit(0);
  });
}

if (require.main === module) {
  const resultPath = process.argv[2];
  if (!resultPath) {
    process.stderr.write('usage: node dist/bench/otlp_sink.js RESULT_PATH\n');
    process.exit(2);
  }
  main(resultPath).catch((error: unknown) => {
    process.stderr.write(`otlp_sink: ${(error as Error).message}\n`);
    process.exit(1);
  });
}
