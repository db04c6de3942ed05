// Request/response ("ping-pong") load on loopback: a few long-lived connections, each sending a
// small request and waiting for a small response, back to back, bounded by a round-trip count
// and a time limit (whichever comes first).
//
// W worker threads, each with its own listening server on 127.0.0.1 and its share of the C
// client connections (like churn_load: one event loop per core, both sides of its connections
// in it). The connections are opened before the clock starts and closed after it stops, so the
// measured time is round trips only: one request segment and one response segment per round
// trip (the response carries the ACK of the request), no handshakes. This is the load where a
// per-packet or per-ACK hook shows its cost, unlike the connection-lifecycle hooks.
//
// Per round trip the client side allocates nothing but Node's write request: the request is one
// preallocated buffer written again and again, and responses are read into one buffer per
// worker (`onread`). The server side gets a Buffer per read (net.Server has no `onread`) and
// writes one preallocated response.
//
//   node dist/bench/pingpong_load.js --connections 16 --seconds 10 --workers 2 [--json]
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';
import { availableParallelism } from 'node:os';
import { LOOPBACK, numberArg, parseArgs } from './churn_load';

export interface PingPongOptions {
  /** Long-lived connections in total (split evenly over the workers). */
  readonly connections: number;
  /** Round trips in total at most (split evenly over the workers). */
  readonly roundTrips: number;
  /** Time limit in seconds: no request is sent after it. */
  readonly seconds: number;
  readonly workers: number;
  readonly requestBytes: number;
  readonly responseBytes: number;
}

export const DEFAULT_PINGPONG_OPTIONS: PingPongOptions = {
  connections: 16,
  roundTrips: 100_000_000,
  seconds: 10,
  workers: Math.max(2, availableParallelism()),
  requestBytes: 32,
  responseBytes: 32,
};

export interface PingPongResult {
  /** Responses received in full. */
  readonly roundTrips: number;
  /** Client sockets that reached ESTABLISHED. */
  readonly connected: number;
  /** Server sockets handed to the accept callback. */
  readonly accepted: number;
  /** Client sockets that closed without an error after the run. */
  readonly closedCleanly: number;
  /** Socket errors on either side (normally 0 on loopback). */
  readonly errors: number;
  /** From the start signal to the last worker done (connection setup excluded). */
  readonly elapsedSeconds: number;
  readonly roundTripsPerSecond: number;
  /** True when the time limit, not the count, ended the run. */
  readonly timeLimited: boolean;
  /** Fewest and most round trips of any one connection (fairness: a starved connection shows here). */
  readonly minPerConnection: number;
  readonly maxPerConnection: number;
  /** The workers' listening ports, to tell this load's connections from other traffic. */
  readonly serverPorts: readonly number[];
}

interface WorkerInput {
  readonly role: 'pingpong-worker';
  readonly connections: number;
  readonly quota: number;
  readonly requestBytes: number;
  readonly responseBytes: number;
}

type ToWorker = { readonly type: 'connect' } | { readonly type: 'go'; readonly deadlineMs: number };

interface WorkerCounts {
  readonly roundTrips: number;
  readonly connected: number;
  readonly accepted: number;
  readonly closedCleanly: number;
  readonly errors: number;
  readonly timeLimited: boolean;
  readonly minPerConnection: number;
  readonly maxPerConnection: number;
}

type FromWorker =
  | { readonly type: 'ready'; readonly port: number }
  | { readonly type: 'connected' }
  | ({ readonly type: 'done' } & WorkerCounts)
  | { readonly type: 'failed'; readonly message: string };

/** Opening the connections before the start; past this something is wrong. */
const CONNECT_TIMEOUT_MS = 15_000;
/** Slack after the time limit for the last round trips and the closes. */
const FINISH_SLACK_MS = 15_000;

/** Runs the load in worker threads of this process and resolves when every worker is done. */
export async function runPingPongLoad(options: PingPongOptions): Promise<PingPongResult> {
  validate(options);
  const workers: Worker[] = [];
  const hardLimitMs = CONNECT_TIMEOUT_MS + options.seconds * 1000 + FINISH_SLACK_MS;
  try {
    const ports: number[] = [];
    const done: WorkerCounts[] = [];
    let connected = 0;
    let startedAt = 0n;
    const finished = new Promise<bigint>((resolve, reject) => {
      const hardLimit = setTimeout(
        () => reject(new Error(`ping-pong load did not finish within ${hardLimitMs / 1000} s; connections are hanging`)),
        hardLimitMs,
      );
      const fail = (error: Error) => {
        clearTimeout(hardLimit);
        reject(error);
      };
      const share = (total: number, i: number) => Math.floor(total / options.workers) + (i < total % options.workers ? 1 : 0);
      for (let i = 0; i < options.workers; i++) {
        const input: WorkerInput = {
          role: 'pingpong-worker',
          connections: share(options.connections, i),
          quota: share(options.roundTrips, i),
          requestBytes: options.requestBytes,
          responseBytes: options.responseBytes,
        };
        const worker = new Worker(__filename, { workerData: input });
        workers.push(worker);
        worker.on('error', fail);
        worker.on('exit', (code) => {
          if (code !== 0) fail(new Error(`ping-pong worker ${i} exited with code ${code}`));
        });
        worker.on('message', (message: FromWorker) => {
          switch (message.type) {
            case 'failed':
              return fail(new Error(`ping-pong worker ${i}: ${message.message}`));
            case 'ready':
              ports.push(message.port);
              if (ports.length === options.workers) for (const w of workers) w.postMessage({ type: 'connect' } satisfies ToWorker);
              return;
            case 'connected':
              if (++connected === options.workers) {
                // Start together, so that the elapsed time covers all of them at full load.
                startedAt = process.hrtime.bigint();
                const go: ToWorker = { type: 'go', deadlineMs: Date.now() + options.seconds * 1000 };
                for (const w of workers) w.postMessage(go);
              }
              return;
            case 'done':
              done.push(message);
              if (done.length === options.workers) {
                clearTimeout(hardLimit);
                resolve(process.hrtime.bigint());
              }
              return;
          }
        });
      }
    });
    const endedAt = await finished;
    const elapsedSeconds = Number(endedAt - startedAt) / 1e9;
    const sum = (pick: (c: WorkerCounts) => number) => done.reduce((total, c) => total + pick(c), 0);
    const roundTrips = sum((c) => c.roundTrips);
    return {
      roundTrips,
      connected: sum((c) => c.connected),
      accepted: sum((c) => c.accepted),
      closedCleanly: sum((c) => c.closedCleanly),
      errors: sum((c) => c.errors),
      elapsedSeconds,
      roundTripsPerSecond: roundTrips / elapsedSeconds,
      timeLimited: done.some((c) => c.timeLimited),
      minPerConnection: Math.min(...done.map((c) => c.minPerConnection)),
      maxPerConnection: Math.max(...done.map((c) => c.maxPerConnection)),
      serverPorts: ports,
    };
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

export function validate(options: PingPongOptions): void {
  const positive = (name: string, value: number, max: number) => {
    if (!Number.isInteger(value) || value < 1 || value > max) throw new RangeError(`${name} must be an integer from 1 to ${max} (got ${value})`);
  };
  positive('connections', options.connections, 4096);
  positive('roundTrips', options.roundTrips, 1e12);
  positive('workers', options.workers, 256);
  positive('requestBytes', options.requestBytes, 65536);
  positive('responseBytes', options.responseBytes, 65536);
  if (!(options.seconds > 0) || options.seconds > 3600) throw new RangeError(`seconds must be in (0, 3600] (got ${options.seconds})`);
  if (options.workers > options.connections) throw new RangeError('workers must not exceed connections');
  if (options.connections > options.roundTrips) throw new RangeError('roundTrips must be at least connections');
}

/** One client connection's state; the hot path touches only these fields. */
interface Client {
  readonly socket: Socket;
  /** Response bytes received towards the current response. */
  received: number;
  roundTrips: number;
  failed: boolean;
}

/** One worker: a server and its clients in one event loop. */
function workerMain(input: WorkerInput, port: NonNullable<typeof parentPort>): void {
  const request = Buffer.alloc(input.requestBytes, 0x71);
  const response = Buffer.alloc(input.responseBytes, 0x72);
  // Every client reads into this one buffer: the callback only counts bytes, synchronously.
  const readBuffer = Buffer.allocUnsafe(64 * 1024);
  const counts = { roundTrips: 0, connected: 0, accepted: 0, closedCleanly: 0, errors: 0 };
  const clients: Client[] = [];
  let phase: 'connecting' | 'running' | 'stopping' = 'connecting';
  let started = 0;
  let timeLimited = false;
  let open = 0;
  let deadline: NodeJS.Timeout | undefined;

  const fail = (message: string) => port.postMessage({ type: 'failed', message } satisfies FromWorker);

  const server: Server = createServer({ noDelay: true }, (socket: Socket) => {
    counts.accepted++;
    let pending = 0;
    socket.on('data', (chunk: Buffer) => {
      // One request in flight per connection, so normally exactly one full request per read.
      pending += chunk.length;
      while (pending >= input.requestBytes) {
        pending -= input.requestBytes;
        socket.write(response);
      }
    });
    // The client's FIN ends the stream and (allowHalfOpen false) our FIN follows.
    socket.on('error', () => counts.errors++);
  });
  server.on('error', (error) => fail(error.message));
  server.listen({ host: LOOPBACK, port: 0, backlog: 1024 }, () => {
    const serverPort = (server.address() as AddressInfo).port;
    port.postMessage({ type: 'ready', port: serverPort } satisfies FromWorker);
  });

  port.on('message', (message: ToWorker) => {
    if (message.type === 'connect') openConnections((server.address() as AddressInfo).port);
    else start(message.deadlineMs);
  });

  function openConnections(serverPort: number): void {
    for (let i = 0; i < input.connections; i++) {
      const client: Client = {
        socket: connect({
          host: LOOPBACK,
          port: serverPort,
          noDelay: true,
          onread: { buffer: readBuffer, callback: (bytes: number) => onResponseBytes(client, bytes) },
        }),
        received: 0,
        roundTrips: 0,
        failed: false,
      };
      clients.push(client);
      open++;
      client.socket.once('connect', () => {
        counts.connected++;
        if (counts.connected === input.connections) port.postMessage({ type: 'connected' } satisfies FromWorker);
      });
      client.socket.on('error', (error) => {
        client.failed = true;
        counts.errors++;
        if (phase === 'connecting') fail(`connection to 127.0.0.1:${serverPort} failed: ${error.message}`);
      });
      client.socket.once('close', () => {
        if (!client.failed) counts.closedCleanly++;
        if (--open === 0) finish();
      });
    }
  }

  function start(deadlineMs: number): void {
    phase = 'running';
    deadline = setTimeout(() => {
      timeLimited = true;
      phase = 'stopping';
    }, Math.max(0, deadlineMs - Date.now()));
    for (const client of clients) sendOrClose(client);
  }

  function onResponseBytes(client: Client, bytes: number): boolean {
    client.received += bytes;
    if (client.received >= input.responseBytes) {
      client.received -= input.responseBytes;
      client.roundTrips++;
      counts.roundTrips++;
      sendOrClose(client);
    }
    return true;
  }

  function sendOrClose(client: Client): void {
    if (phase === 'running' && started < input.quota) {
      started++;
      client.socket.write(request);
    } else {
      client.socket.end();
    }
  }

  function finish(): void {
    clearTimeout(deadline);
    const perConnection = clients.map((c) => c.roundTrips);
    server.close(() =>
      port.postMessage({
        type: 'done',
        ...counts,
        timeLimited,
        minPerConnection: Math.min(...perConnection),
        maxPerConnection: Math.max(...perConnection),
      } satisfies FromWorker),
    );
  }
}

async function cliMain(argv: readonly string[]): Promise<void> {
  const args = parseArgs(argv, ['connections', 'round-trips', 'seconds', 'workers', 'request-bytes', 'response-bytes'], ['json']);
  const d = DEFAULT_PINGPONG_OPTIONS;
  const options: PingPongOptions = {
    connections: numberArg(args, 'connections', d.connections),
    roundTrips: numberArg(args, 'round-trips', d.roundTrips),
    seconds: numberArg(args, 'seconds', d.seconds),
    workers: numberArg(args, 'workers', d.workers),
    requestBytes: numberArg(args, 'request-bytes', d.requestBytes),
    responseBytes: numberArg(args, 'response-bytes', d.responseBytes),
  };
  const result = await runPingPongLoad(options);
  if (args.has('json')) {
    process.stdout.write(JSON.stringify(result) + '\n');
  } else {
    process.stdout.write(
      `${result.roundTrips} round trips in ${result.elapsedSeconds.toFixed(2)} s = ${Math.round(result.roundTripsPerSecond)} round trips/s ` +
        `(${options.connections} connections on ${options.workers} workers, ${options.requestBytes} B request / ${options.responseBytes} B response, ` +
        `${result.timeLimited ? 'time' : 'count'} limit, ${result.minPerConnection}-${result.maxPerConnection} per connection, ${result.errors} errors)\n`,
    );
  }
}

if (!isMainThread && parentPort && (workerData as Partial<WorkerInput> | null)?.role === 'pingpong-worker') {
  workerMain(workerData as WorkerInput, parentPort);
} else if (isMainThread && require.main === module) {
  cliMain(process.argv.slice(2)).catch((error: unknown) => {
    process.stderr.write(`pingpong_load: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  });
}
