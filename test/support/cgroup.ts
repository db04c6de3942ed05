// Test cgroups under the cgroup v2 hierarchy, so that assertions count only the sockets of
// processes the test started. Removed on cleanup, also when a test fails.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { findCgroupV2Root } from '../../src/host/cgroup_resolver';
import { isStale, uniqueName } from './names';

/**
 * A fresh top-level cgroup path for one test, `/tcpscope-<kind>-<pid>-<random>`: never shared with
 * another run on the machine. Removes first what dead test runs left behind.
 */
export function testCgroupBase(kind: string): string {
  removeStaleCgroups();
  return `/${uniqueName(kind)}`;
}

let staleRemoved = false;

/** Top-level test cgroups whose creating process is gone: their processes killed, then removed. */
export function removeStaleCgroups(): void {
  if (staleRemoved) return;
  staleRemoved = true;
  const root = findCgroupV2Root();
  if (!root) return;
  for (const entry of readdirSync(root, { withFileTypes: true })) {
    if (!entry.isDirectory() || !isStale(entry.name)) continue;
    process.stderr.write(`note: removing cgroup /${entry.name} left behind by an earlier test run\n`);
    removeTree(root, `/${entry.name}`);
  }
}

/** Removes a cgroup and everything below it, deepest first. */
function removeTree(root: string, path: string): void {
  for (const entry of readdirSync(join(root, path), { withFileTypes: true })) {
    if (entry.isDirectory()) removeTree(root, `${path}/${entry.name}`);
  }
  new TestCgroup(root, path).remove();
}

export class TestCgroup {
  constructor(
    readonly root: string,
    /** Path relative to the v2 root, e.g. `/tcpscope-test-123/client`. */
    readonly path: string,
  ) {}

  get directory(): string {
    return join(this.root, this.path);
  }

  /** The value tcpscope reports as process.linux.cgroup. */
  get attribute(): string {
    return `0::${this.path}`;
  }

  static create(relativePath: string): TestCgroup {
    const root = findCgroupV2Root();
    if (!root) throw new Error('no cgroup v2 hierarchy is mounted (looked for cgroup2 in /proc/self/mounts)');
    const cgroup = new TestCgroup(root, relativePath.startsWith('/') ? relativePath : `/${relativePath}`);
    mkdirSync(cgroup.directory, { recursive: true });
    return cgroup;
  }

  /** A shell prefix that moves the shell into this cgroup and then execs the command. */
  wrap(command: readonly string[]): string[] {
    const quoted = command.map((c) => `'${c.replace(/'/g, `'\\''`)}'`).join(' ');
    return ['sh', '-c', `echo $$ > '${this.directory}/cgroup.procs' && exec ${quoted}`];
  }

  pids(): number[] {
    const file = join(this.directory, 'cgroup.procs');
    if (!existsSync(file)) return [];
    return readFileSync(file, 'utf8').split('\n').filter(Boolean).map(Number);
  }

  /** Kills what is left inside, then removes the directory (and empty parents up to `until`). */
  remove(until?: string): void {
    for (const pid of this.pids()) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    const deadline = Date.now() + 10_000;
    while (this.pids().length > 0 && Date.now() < deadline) {
      // processes take a moment to leave the cgroup after SIGKILL
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
    }
    removeDirectory(this.directory);
    if (until) {
      let parent = this.path;
      while ((parent = parent.slice(0, parent.lastIndexOf('/'))) && parent.startsWith(until)) {
        // A parent with other test cgroups still inside goes with the last of them.
        if (hasChildCgroups(join(this.root, parent))) return;
        removeDirectory(join(this.root, parent));
      }
    }
  }
}

function hasChildCgroups(dir: string): boolean {
  try {
    return readdirSync(dir, { withFileTypes: true }).some((entry) => entry.isDirectory());
  } catch {
    return false; // gone already
  }
}

/** rmdir, retried for up to 10 s: a cgroup stays busy (EBUSY) until killed tasks are reaped. */
function removeDirectory(dir: string): void {
  const deadline = Date.now() + 10_000;
  while (existsSync(dir)) {
    try {
      rmdirSync(dir);
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EBUSY' || Date.now() > deadline) {
        process.stderr.write(`warning: could not remove test cgroup ${dir}: ${(error as Error).message}\n`);
        return;
      }
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
    }
  }
}

export function writeCgroupProcs(cgroup: TestCgroup, pid: number): void {
  writeFileSync(join(cgroup.directory, 'cgroup.procs'), String(pid));
}
