// Child processes for tests: started, read line by line, and always killed on cleanup.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join, resolve } from 'node:path';

/**
 * How long a test waits for something that normally takes milliseconds (an event to arrive, a
 * child to answer): generous, because a loaded CI machine can be 100 times slower than a quiet
 * one, and waiting costs nothing when the condition comes early. Never a measure of speed.
 */
export const DEADLINE_MS = 30_000;

export const DIST_ROOT = resolve(__dirname, '..', '..');
export const TCP_PEER = join(DIST_ROOT, 'test', 'support', 'tcp_peer.js');

export interface RunningChild {
  readonly process: ChildProcess;
  readonly pid: number;
  /** Resolves with the next stdout line parsed as JSON (rejects once stdout has ended without one, or on timeout). */
  nextJson<T>(timeoutMs?: number): Promise<T>;
  exited(timeoutMs?: number): Promise<number | null>;
  kill(): void;
  readonly stderr: () => string;
}

export function startChild(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): RunningChild {
  const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], env });
  const lines: string[] = [];
  const waiters: ((line: string | undefined) => void)[] = [];
  let stderr = '';
  let closed = false;
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  // A waiter gives up when stdout has ended, after its last line was read: not at the child's
  // 'exit', which can come before that line (seen on a loaded machine: exit code 0, no line).
  createInterface({ input: child.stdout! })
    .on('line', (line) => {
      const waiter = waiters.shift();
      if (waiter) waiter(line);
      else lines.push(line);
    })
    .on('close', () => {
      closed = true;
      for (const w of waiters.splice(0)) w(undefined);
    });
  const exitPromise = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return {
    process: child,
    pid: child.pid!,
    stderr: () => stderr,
    nextJson<T>(timeoutMs = DEADLINE_MS) {
      return new Promise<T>((resolveLine, reject) => {
        const take = (line: string | undefined) => {
          clearTimeout(timer);
          if (line === undefined) reject(new Error(`child ${argv.join(' ')} exited: ${stderr}`));
          else resolveLine(JSON.parse(line) as T);
        };
        const timer = setTimeout(() => {
          const i = waiters.indexOf(take);
          if (i >= 0) waiters.splice(i, 1);
          reject(new Error(`no output from ${argv.join(' ')} within ${timeoutMs} ms: ${stderr}`));
        }, timeoutMs);
        const queued = lines.shift();
        if (queued !== undefined) take(queued);
        else if (closed) take(undefined);
        else waiters.push(take);
      });
    },
    exited(timeoutMs = DEADLINE_MS) {
      return Promise.race([
        exitPromise,
        new Promise<number | null>((_, reject) => setTimeout(() => reject(new Error(`child did not exit within ${timeoutMs} ms`)), timeoutMs).unref()),
      ]);
    },
    kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}

/**
 * Polls `predicate` every 20 ms until it is true or `timeoutMs` passes. `explain`, if given, adds
 * what the test saw to the timeout's message (e.g. the component's log lines).
 */
export async function waitUntil(predicate: () => boolean, timeoutMs: number = DEADLINE_MS, what = 'a condition', explain?: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${explain ? `\n${explain()}` : ''}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
