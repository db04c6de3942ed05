// The loads `npm run bench` can drive, each run in its own process (worker threads inside) so
// that the runner's own work stays out of it, and reduced to one measure for the report:
// completed units (connections for churn, round trips for ping-pong) per second.
import { join } from 'node:path';
import { spawnTracked } from './child_processes';
import type { ChurnOptions, ChurnResult } from './churn_load';
import type { PingPongOptions, PingPongResult } from './pingpong_load';

export type LoadKind = 'churn' | 'pingpong';
export const LOAD_KINDS: readonly LoadKind[] = ['churn', 'pingpong'];

export type LoadSpec =
  | { readonly kind: 'churn'; readonly options: ChurnOptions }
  | { readonly kind: 'pingpong'; readonly options: PingPongOptions };

/** One run of a load, whatever the kind. */
export interface LoadMeasure {
  readonly kind: LoadKind;
  /** Units completed: connections (churn) or round trips (ping-pong). */
  readonly completed: number;
  /** completed / elapsedSeconds. */
  readonly rate: number;
  readonly elapsedSeconds: number;
  readonly errors: number;
  readonly timeLimited: boolean;
  /** Connections opened and closed without an error: each is 4 lifecycle events. */
  readonly connections: number;
  /** The load's listening ports, to tell its connections from other traffic. */
  readonly serverPorts: readonly number[];
  /** Ping-pong only: fewest and most round trips of any one connection. */
  readonly perConnection?: { readonly min: number; readonly max: number };
}

/** How the report names a load's unit. */
export interface LoadUnits {
  /** "connections" / "round trips": column headers, "<plural>/s". */
  readonly plural: string;
  /** "connection" / "round trip": "runs / <singular>". */
  readonly singular: string;
  /** "conn" / "round trip": "machine CPU us / <short>". */
  readonly short: string;
  /** Agent CPU seconds are given per this many units... */
  readonly agentCpuPer: number;
  /** ...named so in the header. */
  readonly agentCpuPerLabel: string;
  /** Decimals of "machine CPU us / unit": a round trip costs a few microseconds, a connection ~100. */
  readonly machineCpuUsDigits: number;
}

export const LOAD_UNITS: Readonly<Record<LoadKind, LoadUnits>> = {
  churn: { plural: 'connections', singular: 'connection', short: 'conn', agentCpuPer: 1000, agentCpuPerLabel: '1000 conn', machineCpuUsDigits: 0 },
  pingpong: { plural: 'round trips', singular: 'round trip', short: 'round trip', agentCpuPer: 100_000, agentCpuPerLabel: '100k round trips', machineCpuUsDigits: 2 },
};

export const LOAD_SCRIPTS: Readonly<Record<LoadKind, string>> = {
  churn: join(__dirname, 'churn_load.js'),
  pingpong: join(__dirname, 'pingpong_load.js'),
};

/** The same load with another time limit (the warm-up). */
export function withSeconds(spec: LoadSpec, seconds: number): LoadSpec {
  return spec.kind === 'churn' ? { kind: 'churn', options: { ...spec.options, seconds } } : { kind: 'pingpong', options: { ...spec.options, seconds } };
}

function loadArgs(spec: LoadSpec): string[] {
  if (spec.kind === 'churn') {
    const o = spec.options;
    return [
      '--connections', String(o.connections),
      '--seconds', String(o.seconds),
      '--workers', String(o.workers),
      '--concurrency', String(o.concurrency),
      '--payload-bytes', String(o.payloadBytes),
    ];
  }
  const o = spec.options;
  return [
    '--connections', String(o.connections),
    '--round-trips', String(o.roundTrips),
    '--seconds', String(o.seconds),
    '--workers', String(o.workers),
    '--request-bytes', String(o.requestBytes),
    '--response-bytes', String(o.responseBytes),
  ];
}

function measure(kind: LoadKind, json: string): LoadMeasure {
  if (kind === 'churn') {
    const r = JSON.parse(json) as ChurnResult;
    return {
      kind,
      completed: r.completed,
      rate: r.connectionsPerSecond,
      elapsedSeconds: r.elapsedSeconds,
      errors: r.errors,
      timeLimited: r.timeLimited,
      connections: r.completed,
      serverPorts: r.serverPorts,
    };
  }
  const r = JSON.parse(json) as PingPongResult;
  return {
    kind,
    completed: r.roundTrips,
    rate: r.roundTripsPerSecond,
    elapsedSeconds: r.elapsedSeconds,
    errors: r.errors,
    timeLimited: r.timeLimited,
    connections: r.closedCleanly,
    serverPorts: r.serverPorts,
    perConnection: { min: r.minPerConnection, max: r.maxPerConnection },
  };
}

/** Runs the load in a child process and resolves with its measure. */
export async function runLoad(spec: LoadSpec): Promise<LoadMeasure> {
  const child = spawnTracked(process.execPath, [LOAD_SCRIPTS[spec.kind], '--json', ...loadArgs(spec)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-8192)));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (exitCode) => resolve(exitCode));
  });
  const name = spec.kind === 'churn' ? 'churn load' : 'ping-pong load';
  if (code !== 0) throw new Error(`${name} exited with ${code}: ${stderr.trim()}`);
  return measure(spec.kind, stdout.trim().split('\n').pop() ?? '');
}

/** The "load:" line of the report header. */
export function describeLoad(spec: LoadSpec, rounds: number, modes: readonly string[]): string {
  const each = `${rounds} rounds of each of ${modes.join(', ')}`;
  if (spec.kind === 'churn') {
    const churn = spec.options;
    return (
      `load: connect, send ${churn.payloadBytes} bytes, close on 127.0.0.1; ${churn.workers} workers x ${churn.concurrency} in flight; ` +
      `each round at most ${churn.connections} connections or ${churn.seconds} s; ${each}`
    );
  }
  const pp = spec.options;
  return (
    `load: ping-pong on 127.0.0.1, ${pp.connections} long-lived connections on ${pp.workers} workers (each with its own server), ` +
    `${pp.requestBytes}-byte request -> ${pp.responseBytes}-byte response back to back, TCP_NODELAY; ` +
    `each round at most ${pp.roundTrips} round trips or ${pp.seconds} s; ${each}`
  );
}

/** The load part of a round's progress line. */
export function describeMeasure(load: LoadMeasure): string[] {
  if (load.kind === 'churn') {
    return [`${Math.round(load.rate).toLocaleString('en-US')} connections/s`, `${load.completed} connections in ${load.elapsedSeconds.toFixed(2)} s`];
  }
  const parts = [
    `${Math.round(load.rate).toLocaleString('en-US')} round trips/s`,
    `${load.completed} round trips in ${load.elapsedSeconds.toFixed(2)} s`,
  ];
  if (load.perConnection) parts.push(`${load.perConnection.min}-${load.perConnection.max} per connection`);
  return parts;
}
