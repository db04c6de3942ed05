// A workload container started with `runc run` directly, as containerd's shim does, so that its
// cgroup is exactly the path a CRI runtime gives it (e.g. kubelet's systemd layout
// `.../kubepods-pod<uid_>.slice/cri-containerd-<id>.scope`). runc's cgroupfs manager (no
// --systemd-cgroup) takes any path and creates it in every hierarchy, so the systemd driver's
// layout is reproduced without systemd managing it. The root file system is the test image,
// mounted read-only with `podman image mount`.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEADLINE_MS, DIST_ROOT, waitUntil } from './child';
import { isStale, uniqueName } from './names';
import { podman, podmanEnv } from './podman';
import type { Teardown } from './container_teardown';

export interface RuncWorkload {
  /** The container id in the cgroup path: 64 hex, as containerd names containers. */
  readonly id: string;
  /** runc's name for it (uniqueName-based, so that one a dead run left behind can be found). */
  readonly runcName: string;
  /** Host pid of the container's first process (runc --pid-file). */
  readonly pid: number;
  /** stdout so far. */
  stdout(): string;
  /** Resolves with runc's exit code (the container process's); rejects after `timeoutMs`. */
  exited(timeoutMs?: number): Promise<number | null>;
  signal(name: string): void;
}

export interface RuncWorkloadOptions {
  readonly image: string;
  /** Directory for the bundle (config.json, pid file). */
  readonly dir: string;
  readonly netns: string;
  /** The full cgroupsPath, container cgroup included. */
  cgroupsPath(id: string): string;
  /** Arguments of tcp_peer.js. */
  readonly peerArgs: readonly string[];
}

function runc(args: readonly string[]): string {
  const result = spawnSync('runc', args, { encoding: 'utf8', timeout: DEADLINE_MS });
  if (result.error || result.status !== 0) throw new Error(`runc ${args.join(' ')}: ${result.error?.message ?? result.stderr.trim()}`);
  return result.stdout;
}

/** Kills and deletes a runc container (idempotent: nothing to do when it is gone). */
export function deleteRuncContainer(name: string): void {
  spawnSync('runc', ['delete', '--force', name], { stdio: 'ignore' });
}

let staleRemoved = false;

/** Deletes runc containers of dead test runs (once per process), so their cgroups can go too. */
export function removeStaleRuncContainers(): void {
  if (staleRemoved) return;
  staleRemoved = true;
  const listing = spawnSync('runc', ['list', '--quiet'], { encoding: 'utf8' });
  for (const name of (listing.stdout ?? '').split('\n').filter((n) => n.startsWith('tcpscope-') && isStale(n))) {
    process.stderr.write(`note: deleting runc container ${name} left behind by an earlier test run\n`);
    deleteRuncContainer(name);
  }
}

/** Starts tcp_peer.js under `runc run` (foreground: runc exits with the container's exit code). */
export async function startRuncWorkload(teardown: Teardown, options: RuncWorkloadOptions): Promise<RuncWorkload> {
  removeStaleRuncContainers();
  const id = randomBytes(32).toString('hex');
  const runcName = uniqueName('ctr-runc');
  const rootfs = podman(['image', 'mount', options.image]);
  // Image mounts are counted per caller; this undoes ours only.
  teardown.add(`podman image unmount ${options.image}`, () => void spawnSync('podman', ['image', 'unmount', options.image], { stdio: 'ignore', env: podmanEnv() }));
  teardown.add(`runc delete ${runcName}`, () => deleteRuncContainer(runcName));
  const bundle = join(options.dir, `runc-${id.slice(0, 12)}`);
  mkdirSync(bundle);
  runc(['spec', '--bundle', bundle]);
  const spec = JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8')) as {
    process: { terminal: boolean; args: string[] };
    root: { path: string; readonly: boolean };
    mounts: { destination: string; type: string; source: string; options?: string[] }[];
    linux: { cgroupsPath?: string; namespaces: { type: string; path?: string }[] };
  };
  spec.process.terminal = false;
  spec.process.args = ['node', '/mnt/tcp_peer.js', ...options.peerArgs];
  spec.root = { path: rootfs, readonly: true };
  // /mnt exists (empty) in Debian images: a read-only root cannot get a new mount point.
  spec.mounts.push({ destination: '/mnt', type: 'bind', source: join(DIST_ROOT, 'test', 'support'), options: ['rbind', 'ro'] });
  spec.linux.cgroupsPath = options.cgroupsPath(id);
  spec.linux.namespaces = spec.linux.namespaces.map((ns) => (ns.type === 'network' ? { type: 'network', path: `/run/netns/${options.netns}` } : ns));
  writeFileSync(join(bundle, 'config.json'), JSON.stringify(spec));

  const pidFile = join(bundle, 'pid');
  const child = spawn('runc', ['run', '--bundle', bundle, '--pid-file', pidFile, runcName], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  teardown.add(`runc run ${id}`, () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  await waitUntil(() => existsSync(pidFile) || child.exitCode !== null, DEADLINE_MS, `runc to start ${id}`, () => stderr);
  if (!existsSync(pidFile)) throw new Error(`runc run ${id} exited ${child.exitCode}: ${stderr}`);
  return {
    id,
    runcName,
    pid: Number(readFileSync(pidFile, 'utf8')),
    stdout: () => stdout,
    exited: (timeoutMs = DEADLINE_MS) =>
      Promise.race([
        exited,
        new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`runc run ${id} did not exit within ${timeoutMs} ms: ${stderr}`)), timeoutMs).unref()),
      ]),
    signal: (name) => void runc(['kill', runcName, name]),
  };
}
