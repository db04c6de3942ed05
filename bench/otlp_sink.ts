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
import { Server, ServerCredentials, type ServiceDefinition } from '@grpc/grpc-js';
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
  names: string[] = [];
  private readonly nameIndex = new Map<string, number>();
  name = new Uint8Array(1 << 16);
  local = new Uint16Array(1 << 16);
  peer = new Uint16Array(1 << 16);
  length = 0;

  push(name: string, local: number, peer: number): void {
    if (this.length === this.name.length) this.grow();
    let index = this.nameIndex.get(name);
    if (index === undefined) {
      index = this.names.push(name) - 1;
      this.nameIndex.set(name, index);
    }
    this.name[this.length] = index;
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

function varint(buf: Buffer, at: { pos: number }): number {
  let result = 0;
  let scale = 1;
  for (;;) {
    const byte = buf[at.pos++];
    result += (byte & 0x7f) * scale;
    if (byte < 0x80) return result;
    scale *= 128;
  }
}

/** Calls `visit` for each field of buf[start, end): wire type 2 gives a range, 0 a value. */
function fields(buf: Buffer, start: number, end: number, visit: (field: number, wire: number, a: number, b: number) => void): void {
  const at = { pos: start };
  while (at.pos < end) {
    const key = varint(buf, at);
    const wire = key & 7;
    const field = key >>> 3;
    if (wire === 0) visit(field, 0, varint(buf, at), 0);
    else if (wire === 1) at.pos += 8;
    else if (wire === 5) at.pos += 4;
    else if (wire === 2) {
      const length = varint(buf, at);
      visit(field, 2, at.pos, at.pos + length);
      at.pos += length;
    } else throw new Error(`wire type ${wire}`);
  }
}

function scanRequest(buf: Buffer, columns: Columns): void {
  fields(buf, 0, buf.length, (f, w, a, b) => {
    if (f !== 1 || w !== 2) return; // resource_logs
    fields(buf, a, b, (f2, w2, a2, b2) => {
      if (f2 !== 2 || w2 !== 2) return; // scope_logs
      fields(buf, a2, b2, (f3, w3, a3, b3) => {
        if (f3 !== 2 || w3 !== 2) return; // log_records
        let name = '';
        let local = 0;
        let peer = 0;
        fields(buf, a3, b3, (f4, w4, a4, b4) => {
          if (f4 === 12 && w4 === 2) name = buf.toString('latin1', a4, b4);
          else if (f4 === 6 && w4 === 2) {
            let which = 0;
            let value = 0;
            fields(buf, a4, b4, (f5, w5, a5, b5) => {
              if (f5 === 1 && w5 === 2) {
                const key = buf.subarray(a5, b5);
                which = key.equals(LOCAL_PORT) ? 1 : key.equals(PEER_PORT) ? 2 : 0;
              } else if (f5 === 2 && w5 === 2 && which !== 0) {
                fields(buf, a5, b5, (f6, w6, v) => {
                  if (f6 === 3 && w6 === 0) value = v;
                });
              }
            });
            if (which === 1) local = value;
            else if (which === 2) peer = value;
          }
        });
        columns.push(name, local, peer);
      });
    });
  });
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

async function main(resultPath: string): Promise<void> {
  const columns = new Columns();
  let requests = 0;
  const identity = (b: Buffer) => b;
  const definition: ServiceDefinition = {
    Export: { path: LOGS_EXPORT_PATH, requestStream: false, responseStream: false, requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity },
  };
  const empty = Buffer.alloc(0);
  const server = new Server({ 'grpc.max_receive_message_length': 64 * 1024 * 1024 });
  server.addService(definition, {
    Export: (call: { request: Buffer }, callback: (error: null, response: Buffer) => void) => {
      requests++;
      scanRequest(call.request, columns);
      callback(null, empty);
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))),
  );
  process.stdout.write(`listening ${port}\n`);
  process.once('SIGTERM', () => {
    const portsPath = `${resultPath}.ports`;
    const ports = existsSync(portsPath) ? new Set<number>(JSON.parse(readFileSync(portsPath, 'utf8')) as number[]) : new Set<number>();
    writeFileSync(resultPath, JSON.stringify(count(columns, ports, requests)));
    server.forceShutdown();
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
