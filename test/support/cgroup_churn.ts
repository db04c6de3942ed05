// Drives cgroup_churn.py (short-lived cgroups making loopback connections) over stdin.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../../src/paths';
import type { TestCgroup } from './cgroup';

const CHURN = join(PACKAGE_ROOT, 'test', 'support', 'cgroup_churn.py');

export interface Churn {
  /** Sends one command and resolves with its JSON answer. */
  ask<T>(command: string, timeoutMs?: number): Promise<T>;
  kill(): void;
}

/** The helper runs in `home` and makes its cgroups under `base`. */
export function startChurn(home: TestCgroup, base: TestCgroup): Churn {
  const child = spawn('sh', ['-c', `echo $$ > '${home.directory}/cgroup.procs' && exec python3 '${CHURN}' '${base.directory}'`], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const lines: string[] = [];
  const waiters: ((line: string | undefined) => void)[] = [];
  createInterface({ input: child.stdout }).on('line', (line) => (waiters.length ? waiters.shift()!(line) : lines.push(line)));
  child.on('exit', () => waiters.splice(0).forEach((w) => w(undefined)));
  return {
    async ask<T>(command: string, timeoutMs = 30_000): Promise<T> {
      child.stdin.write(`${command}\n`);
      const line = await new Promise<string | undefined>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no answer to "${command}" within ${timeoutMs} ms: ${stderr}`)), timeoutMs);
        const take = (l: string | undefined) => {
          clearTimeout(timer);
          resolve(l);
        };
        const queued = lines.shift();
        if (queued !== undefined) take(queued);
        else if (child.exitCode !== null) take(undefined);
        else waiters.push(take);
      });
      if (line === undefined) throw new Error(`cgroup_churn.py exited: ${stderr}`);
      return JSON.parse(line) as T;
    },
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}

