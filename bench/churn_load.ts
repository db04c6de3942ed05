// Connection-churn load on loopback: connect, send a small payload, close, as fast as the
// machine allows, bounded by a connection count and a time limit (whichever comes first).
//
// W worker threads, each with its own listening server on 127.0.0.1 and its own clients keeping
// `concurrency` connections in flight. One server per worker rather than one shared server: a
// single accepting thread caps churn at about one core (~9-13k connections/s on the 2-core
// reference machine) while one per worker saturates every core, which is the load the agent has
// to keep up with. Every connection is a real TCP handshake, payload, FIN from the client, FIN
// from the server: 4 lifecycle events per connection (connect, accept, two closes).
//
//   node dist/bench/churn_load.js --connections 100000 --seconds 10 --workers 2 [--json]
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';
import { availableParallelism } from 'node:os';

export const LOOPBACK = '127.0.0.1';

export interface ChurnOptions {
  /** Connections to make in total (split evenly over the workers). */
  readonly connections: number;
  /** Time limit in seconds: no connection is started after it. */
  readonly seconds: number;
  readonly workers: number;
  /** Connections each worker keeps in flight. */
  readonly concurrency: number;
  readonly payloadBytes: number;
}

export const DEFAULT_CHURN_OPTIONS: ChurnOptions = {
  connections: 200_000,
  seconds: 10,
  workers: Math.max(2, availableParallelism()),
  concurrency: 32,
  payloadBytes: 64,
};

export interface ChurnResult {
  /** Connections that went through connect, send and close without an error. */
  readonly completed: number;
  /** Client sockets that reached ESTABLISHED ('connect' fired). */
  readonly connected: number;
  /** Server sockets handed to the accept callback. */
  readonly accepted: number;
  /** Socket errors on either side (normally 0 on loopback). */
  readonly errors: number;
  readonly elapsedSeconds: number;
  readonly connectionsPerSecond: number;
  /** True when the time limit, not the count, ended the run. */
  readonly timeLimited: boolean;
  /** The workers' listening ports, to tell this load's connections from other traffic. */
  readonly serverPorts: readonly number[];
}

interface WorkerInput {
  readonly role: 'churn-worker';
  readonly quota: number;
  readonly concurrency: number;
  readonly payloadBytes: number;
}

type ToWorker = { readonly type: 'go'; readonly deadlineMs: number };

interface WorkerCounts {
  readonly completed: number;
  readonly connected: number;
  readonly accepted: number;
  readonly errors: number;
  readonly timeLimited: boolean;
}

type FromWorker =
  | { readonly type: 'ready'; readonly port: number }
  | ({ readonly type: 'done' } & WorkerCounts)
  | { readonly type: 'failed'; readonly message: string };

/** Runs the load in worker threads of this process and resolves when every worker is done. */
export async function runChurnLoad(options: ChurnOptions): Promise<ChurnResult> {
  validate(options);
  const workers: Worker[] = [];
  // Slack for the in-flight connections to finish after the time limit; past it, something hangs.
  const hardLimitMs = options.seconds * 1000 + 15_000;
  try {
    const ports: number[] = [];
    const done: WorkerCounts[] = [];
    let startedAt = 0n;
    const finished = new Promise<bigint>((resolve, reject) => {
      const hardLimit = setTimeout(
        () => reject(new Error(`churn load did not finish within ${hardLimitMs / 1000} s; connections are hanging`)),
        hardLimitMs,
      );
      const fail = (error: Error) => {
        clearTimeout(hardLimit);
        reject(error);
      };
      for (let i = 0; i < options.workers; i++) {
        const quota = Math.floor(options.connections / options.workers) + (i < options.connections % options.workers ? 1 : 0);
        const input: WorkerInput = { role: 'churn-worker', quota, concurrency: options.concurrency, payloadBytes: options.payloadBytes };
        const worker = new Worker(__filename, { workerData: input });
        workers.push(worker);
        worker.on('error', fail);
        worker.on('exit', (code) => {
          if (code !== 0) fail(new Error(`churn worker ${i} exited with code ${code}`));
        });
        worker.on('message', (message: FromWorker) => {
          if (message.type === 'failed') return fail(new Error(`churn worker ${i}: ${message.message}`));
          if (message.type === 'ready') {
            ports.push(message.port);
            if (ports.length === options.workers) {
              // Start together, so that the elapsed time covers all of them at full load.
              startedAt = process.hrtime.bigint();
              const go: ToWorker = { type: 'go', deadlineMs: Date.now() + options.seconds * 1000 };
              for (const w of workers) w.postMessage(go);
            }
            return;
          }
          done.push(message);
          if (done.length === options.workers) {
            clearTimeout(hardLimit);
            resolve(process.hrtime.bigint());
          }
        });
      }
    });
    const endedAt = await finished;
    const elapsedSeconds = Number(endedAt - startedAt) / 1e9;
    const sum = (pick: (c: WorkerCounts) => number) => done.reduce((total, c) => total + pick(c), 0);
    const completed = sum((c) => c.completed);
    return {
      completed,
      connected: sum((c) => c.connected),
      accepted: sum((c) => c.accepted),
      errors: sum((c) => c.errors),
      elapsedSeconds,
      connectionsPerSecond: completed / elapsedSeconds,
      timeLimited: done.some((c) => c.timeLimited),
      serverPorts: ports,
    };
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

function validate(options: ChurnOptions): void {
  const positive = (name: string, value: number) => {
    if (!Number.isInteger(value) || value < 1) throw new RangeError(`${name} must be a positive integer (got ${value})`);
  };
  positive('connections', options.connections);
  positive('workers', options.workers);
  positive('concurrency', options.concurrency);
  positive('payloadBytes', options.payloadBytes);
  if (!(options.seconds > 0) || options.seconds > 3600) throw new RangeError(`seconds must be in (0, 3600] (got ${options.seconds})`);
  if (options.workers > options.connections) throw new RangeError('workers must not exceed connections');
}

/** One worker: a server and its clients in one event loop. */
function workerMain(input: WorkerInput, port: NonNullable<typeof parentPort>): void {
  const payload = Buffer.alloc(input.payloadBytes, 0x61);
  const counts = { completed: 0, connected: 0, accepted: 0, errors: 0 };
  const server: Server = createServer((socket: Socket) => {
    counts.accepted++;
    // Read the payload; the client's FIN ends the stream and (allowHalfOpen false) our FIN follows.
    socket.on('error', () => counts.errors++);
    socket.resume();
  });
  server.on('error', (error) => port.postMessage({ type: 'failed', message: error.message } satisfies FromWorker));
  server.listen({ host: LOOPBACK, port: 0, backlog: 4096 }, () => {
    const serverPort = (server.address() as AddressInfo).port;
    port.postMessage({ type: 'ready', port: serverPort } satisfies FromWorker);
    port.once('message', (message: ToWorker) => churn(serverPort, message.deadlineMs));
  });

  function churn(serverPort: number, deadlineMs: number): void {
    let started = 0;
    let inFlight = 0;
    let timeLimited = false;
    const canStart = () => {
      if (started >= input.quota) return false;
      if (Date.now() >= deadlineMs) {
        timeLimited = true;
        return false;
      }
      return true;
    };
    const fill = () => {
      while (inFlight < input.concurrency && canStart()) {
        started++;
        inFlight++;
        const socket = connect(serverPort, LOOPBACK);
        let failed = false;
        socket.once('connect', () => {
          counts.connected++;
          socket.end(payload);
        });
        socket.on('error', () => {
          failed = true;
          counts.errors++;
        });
        socket.resume();
        socket.once('close', () => {
          inFlight--;
          if (!failed) counts.completed++;
          if (inFlight === 0 && !canStart()) finish(timeLimited);
          else fill();
        });
      }
    };
    fill();
  }

  function finish(timeLimited: boolean): void {
    server.close(() => port.postMessage({ type: 'done', ...counts, timeLimited } satisfies FromWorker));
  }
}

/** `--name value` pairs of argv; unknown names are an error so a typo does not go unnoticed. */
export function parseArgs(argv: readonly string[], known: readonly string[], flags: readonly string[] = []): Map<string, string> {
  const result = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const name = arg.startsWith('--') ? arg.slice(2) : undefined;
    if (name !== undefined && flags.includes(name)) {
      result.set(name, 'true');
    } else if (name !== undefined && known.includes(name) && i + 1 < argv.length) {
      result.set(name, argv[++i]);
    } else {
      const options = [...known.map((k) => `--${k} <value>`), ...flags.map((f) => `--${f}`)];
      throw new Error(`unexpected argument "${arg}"; options: ${options.join(', ')}`);
    }
  }
  return result;
}

export function numberArg(args: Map<string, string>, name: string, fallback: number): number {
  const text = args.get(name);
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} must be a positive number (got "${text}")`);
  return value;
}

async function cliMain(argv: readonly string[]): Promise<void> {
  const args = parseArgs(argv, ['connections', 'seconds', 'workers', 'concurrency', 'payload-bytes'], ['json']);
  const d = DEFAULT_CHURN_OPTIONS;
  const options: ChurnOptions = {
    connections: numberArg(args, 'connections', d.connections),
    seconds: numberArg(args, 'seconds', d.seconds),
    workers: numberArg(args, 'workers', d.workers),
    concurrency: numberArg(args, 'concurrency', d.concurrency),
    payloadBytes: numberArg(args, 'payload-bytes', d.payloadBytes),
  };
  const result = await runChurnLoad(options);
  if (args.has('json')) {
    process.stdout.write(JSON.stringify(result) + '\n');
  } else {
    process.stdout.write(
      `${result.completed} connections in ${result.elapsedSeconds.toFixed(2)} s = ${Math.round(result.connectionsPerSecond)} connections/s ` +
        `(${options.workers} workers x ${options.concurrency} in flight, ${result.timeLimited ? 'time' : 'count'} limit, ${result.errors} errors)\n`,
    );
  }
}

if (!isMainThread && parentPort && (workerData as Partial<WorkerInput> | null)?.role === 'churn-worker') {
  workerMain(workerData as WorkerInput, parentPort);
} else if (isMainThread && require.main === module) {
  cliMain(process.argv.slice(2)).catch((error: unknown) => {
    process.stderr.write(`churn_load: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  });
}
