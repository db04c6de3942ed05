// A real Prometheus for tests: Debian's /usr/bin/prometheus (2.42), started on loopback with its
// own temporary storage, scraping the given targets every second, with native histograms on.
//
//   const prom = await startPrometheusForTest(t, { scrapeTargets: ['127.0.0.1:9464'] });
//   const result = await prom.query('sum(system_network_tcp_io_bytes_total)');   // /api/v1/query
//   await prom.waitFor('up', (r) => r.length > 0, 'a first scrape');             // polls, deadline
//   // stopped and its directory removed by t.after (or call prom.stop() yourself; idempotent)
//
// start({ scrapeTargets }) → { url, query(promql), queryRange(promql, seconds), waitFor(...),
// targets(), stderr(), stop() }.
// - The port comes from a socket bound to 127.0.0.1:0 and closed right before Prometheus binds
//   it (Prometheus must own the socket); if another process took it in between, Prometheus exits
//   at once and start() tries again with a new port (3 times).
// - Scrapes: job `tcpscope` (jobName), path /metrics, every scrapeIntervalSeconds (1 s): a test
//   waits on a query condition with a generous deadline, never a fixed sleep.
// - `--enable-feature=native-histograms` (unless nativeHistograms: false) makes Prometheus ask for
//   the protobuf format and keep native histograms; everything else is Prometheus' defaults.
// - stop(): SIGTERM, SIGKILL after 10 s, then the storage directory is removed. A test that
//   started it must stop it even when failing: startPrometheusForTest registers t.after(stop).
// prometheusMissing() says why a test cannot run (no binary), for a loud skip outside CI.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { stringify } from 'yaml';
import { DEADLINE_MS } from './child';

export const PROMETHEUS_BINARY = '/usr/bin/prometheus';

export interface PrometheusServerOptions {
  /** host:port of every endpoint to scrape at /metrics. */
  readonly scrapeTargets: readonly string[];
  /** Job name of the scrape config (the `job` label of every scraped series). */
  readonly jobName?: string;
  readonly scrapeIntervalSeconds?: number;
  /** How long start() waits for /-/ready. */
  readonly readyTimeoutMs?: number;
  /**
   * `--enable-feature=native-histograms` (default true): Prometheus then scrapes the protobuf
   * format. false: it scrapes the text format, and every histogram is classic.
   */
  readonly nativeHistograms?: boolean;
}

/** One element of an instant query's result. */
export interface PromSample {
  readonly metric: Readonly<Record<string, string>>;
  /** Float samples: [time, "value"]. */
  readonly value?: readonly [number, string];
  /** Native histogram samples: [time, histogram]. */
  readonly histogram?: readonly [number, PromHistogram];
}

export interface PromHistogram {
  readonly count: string;
  readonly sum: string;
  /** [boundary rule, lower, upper, count]: rule 0 (lower, upper], 1 [lower, upper), 2 (…), 3 […]. */
  readonly buckets?: readonly (readonly [number, string, string, string])[];
}

/** One element of a range query's result. */
export interface PromRangeSeries {
  readonly metric: Readonly<Record<string, string>>;
  readonly values?: readonly (readonly [number, string])[];
  readonly histograms?: readonly (readonly [number, PromHistogram])[];
}

export interface ScrapeTarget {
  readonly scrapeUrl: string;
  readonly health: string;
  readonly lastError: string;
  readonly labels: Readonly<Record<string, string>>;
}

export interface PrometheusServer {
  /** Base URL of the HTTP API, e.g. http://127.0.0.1:40123 */
  readonly url: string;
  /** An instant query (GET /api/v1/query); rejects with Prometheus' error on a bad query. */
  query(promql: string): Promise<PromSample[]>;
  /** A range query (GET /api/v1/query_range) over the last `seconds`, one point per `stepSeconds`. */
  queryRange(promql: string, seconds: number, stepSeconds?: number): Promise<PromRangeSeries[]>;
  /**
   * Repeats `query(promql)` until `done(result)` is true (returns that result) or `timeoutMs`
   * passes (rejects with the last result and the scrape targets' state).
   */
  waitFor(promql: string, done: (result: PromSample[]) => boolean, what: string, timeoutMs?: number): Promise<PromSample[]>;
  /** The active scrape targets and their health (GET /api/v1/targets). */
  targets(): Promise<ScrapeTarget[]>;
  /** What Prometheus logged so far. */
  stderr(): string;
  /** Stops Prometheus and removes its directory. Idempotent. */
  stop(): Promise<void>;
}

/** Why Prometheus cannot run here, or undefined when it can. */
export function prometheusMissing(): string | undefined {
  return existsSync(PROMETHEUS_BINARY) ? undefined : `${PROMETHEUS_BINARY} is missing: install Debian's prometheus package (scripts/setup.sh does)`;
}

/** start() with t.after(stop) registered before anything is started. */
export async function startPrometheusForTest(t: TestContext, options: PrometheusServerOptions): Promise<PrometheusServer> {
  let server: PrometheusServer | undefined;
  t.after(() => server?.stop());
  server = await start(options);
  return server;
}

export async function start(options: PrometheusServerOptions): Promise<PrometheusServer> {
  const missing = prometheusMissing();
  if (missing) throw new Error(missing);
  let lastError: Error | undefined;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await startOnce(options, await freePort());
    } catch (error) {
      lastError = error as Error;
      if (!/address already in use/i.test(lastError.message)) throw lastError;
    }
  }
  throw lastError ?? new Error('prometheus did not start');
}

export const startPrometheus = start;

async function startOnce(options: PrometheusServerOptions, port: number): Promise<PrometheusServer> {
  const dir = mkdtempSync(join(tmpdir(), 'tcpscope-prometheus-'));
  const interval = `${options.scrapeIntervalSeconds ?? 1}s`;
  const configPath = join(dir, 'prometheus.yml');
  writeFileSync(
    configPath,
    stringify({
      global: { scrape_interval: interval, scrape_timeout: interval, evaluation_interval: interval },
      scrape_configs: [{ job_name: options.jobName ?? 'tcpscope', metrics_path: '/metrics', static_configs: [{ targets: [...options.scrapeTargets] }] }],
    }),
  );
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(
    PROMETHEUS_BINARY,
    [
      `--config.file=${configPath}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      ...(options.nativeHistograms === false ? [] : ['--enable-feature=native-histograms']),
      '--web.console.templates=/nonexistent',
      '--web.console.libraries=/nonexistent',
      '--log.level=info',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await terminate(child, exited);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitReady(url, child, () => stderr, options.readyTimeoutMs ?? DEADLINE_MS);
  } catch (error) {
    await stop();
    throw error;
  }

  const query = async (promql: string): Promise<PromSample[]> => {
    const response = await fetch(`${url}/api/v1/query?${new URLSearchParams({ query: promql })}`);
    const body = (await response.json()) as { status: string; error?: string; data?: { resultType: string; result: unknown } };
    if (body.status !== 'success') throw new Error(`query ${promql} failed: ${body.error ?? response.status}`);
    const data = body.data!;
    if (data.resultType === 'scalar') return [{ metric: {}, value: data.result as [number, string] }];
    return data.result as PromSample[];
  };
  const queryRange = async (promql: string, seconds: number, stepSeconds = 1): Promise<PromRangeSeries[]> => {
    const end = Date.now() / 1000;
    const params = new URLSearchParams({ query: promql, start: String(end - seconds), end: String(end), step: String(stepSeconds) });
    const response = await fetch(`${url}/api/v1/query_range?${params}`);
    const body = (await response.json()) as { status: string; error?: string; data?: { result: PromRangeSeries[] } };
    if (body.status !== 'success') throw new Error(`range query ${promql} failed: ${body.error ?? response.status}`);
    return body.data!.result;
  };
  const targets = async (): Promise<ScrapeTarget[]> => {
    const body = (await (await fetch(`${url}/api/v1/targets?state=active`)).json()) as { data: { activeTargets: ScrapeTarget[] } };
    return body.data.activeTargets;
  };
  const waitFor = async (promql: string, done: (result: PromSample[]) => boolean, what: string, timeoutMs = DEADLINE_MS): Promise<PromSample[]> => {
    const deadline = performance.now() + timeoutMs;
    let last: PromSample[] | string = 'no answer yet';
    for (let round = 0; ; round++) {
      try {
        const result = await query(promql);
        if (done(result)) return result;
        last = result;
      } catch (error) {
        last = (error as Error).message;
      }
      if (performance.now() > deadline || round > 100_000) {
        const state = await targets().catch((error: Error) => error.message);
        throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}: ${promql} last returned ${JSON.stringify(last)}; targets: ${JSON.stringify(state)}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  };
  return { url, query, queryRange, waitFor, targets, stderr: () => stderr, stop };
}

async function waitReady(url: string, child: ChildProcess, stderr: () => string, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`prometheus exited (${child.exitCode ?? child.signalCode}) before it was ready: ${stderr().slice(-2000)}`);
    }
    try {
      const response = await fetch(`${url}/-/ready`);
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`prometheus was not ready within ${timeoutMs} ms: ${stderr().slice(-2000)}`);
}

async function terminate(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(killer);
}

/** A port nobody listens on now: bound on 127.0.0.1:0, then released for Prometheus to bind. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
