// The agent and its workloads as real containers for test/deploy/: the agent run as the DaemonSet
// runs it (agentSecurityArgs), its config and output directory bind-mounted from a test directory,
// and workload containers running test/support/tcp_peer.js with the image's own node, each in a
// network namespace the test made and under a kubelet-style cgroup parent.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { DEADLINE_MS, DIST_ROOT, waitUntil } from './child';
import { agentSecurityArgs, containerName, hostCgroup2MountPoint, podman, podmanEnv } from './podman';
import type { Teardown } from './container_teardown';
import { isStale, uniqueName } from './names';
import { removeStaleTestCgroups } from './container_cgroups';
import { removeStaleRuncContainers } from './container_runc';
import { readOtlpJsonFileSoFar } from './otlp_json';

/**
 * Where the agent container sees `<dir>/out`, the only test directory it may write (the file
 * exporter's output); the config and anything else in `<dir>` stay out of its reach.
 */
export const AGENT_OUTPUT_DIR = '/out';

/** A file the agent wrote to AGENT_OUTPUT_DIR, as the host sees it. */
export function agentOutput(dir: string, file: string): string {
  return join(dir, 'out', file);
}

/** The tcp_peer script as built into dist/, mounted read-only into workload containers. */
const TCP_PEER_JS = join(DIST_ROOT, 'test', 'support', 'tcp_peer.js');
const PEER_IN_CONTAINER = '/peer/tcp_peer.js';

export interface RunningContainer {
  readonly name: string;
  /** The full 64-hex container id. */
  readonly id: string;
  /** The host pid of the container's first process (podman inspect .State.Pid). */
  readonly pid: number;
}

/**
 * What a container wrote to stdout and to stderr (`podman logs` replays each on its own stream),
 * running or exited. The agent logs to stderr; tcp_peer prints its JSON to stdout.
 */
export function containerLogs(name: string): string {
  const result = spawnSync('podman', ['logs', name], { env: podmanEnv(), encoding: 'utf8', timeout: DEADLINE_MS });
  if (result.error || result.status !== 0) throw new Error(`podman logs ${name}: ${result.error?.message ?? result.stderr.trim()}`);
  return result.stdout + result.stderr;
}

/** Polls `podman logs` until `predicate` holds (bounded by `timeoutMs`). */
export async function waitForLogs(name: string, predicate: (logs: string) => boolean, what: string, timeoutMs = DEADLINE_MS): Promise<string> {
  let logs = '';
  await waitUntil(
    () => predicate((logs = containerLogs(name))),
    timeoutMs,
    what,
    () => `podman logs ${name}:\n${logs}`,
  );
  return logs;
}

export interface ContainerState {
  readonly status: string;
  readonly exitCode: number;
  readonly pid: number;
}

export function containerState(name: string): ContainerState {
  const [status, exitCode, pid] = podman(['inspect', '--format', '{{.State.Status}} {{.State.ExitCode}} {{.State.Pid}}', name]).split(' ');
  return { status: status!, exitCode: Number(exitCode), pid: Number(pid) };
}

let staleRemoved = false;

/** Removes podman containers of dead test runs (once per process), so their cgroups can go too. */
export function removeStaleContainers(): void {
  if (staleRemoved) return;
  staleRemoved = true;
  const listing = spawnSync('podman', ['ps', '--all', '--format', '{{.Names}}'], { env: podmanEnv(), encoding: 'utf8', timeout: DEADLINE_MS });
  for (const name of (listing.stdout ?? '').split('\n').filter((n) => n.startsWith('tcpscope-') && isStale(n))) {
    process.stderr.write(`note: removing container ${name} left behind by an earlier test run\n`);
    spawnSync('podman', ['rm', '--force', '--time', '0', name], { env: podmanEnv(), stdio: 'ignore', timeout: DEADLINE_MS });
  }
}

/**
 * What dead test runs left behind, in the order it can go: their podman and runc containers, then
 * the test cgroups those containers were in (from every hierarchy).
 */
export function removeLeftoversOfDeadRuns(): void {
  removeStaleContainers();
  removeStaleRuncContainers();
  removeStaleTestCgroups();
  for (const entry of readdirSync(tmpdir(), { withFileTypes: true })) {
    if (!entry.isDirectory() || !entry.name.startsWith(TEST_DIR_PREFIX) || !isStale(entry.name)) continue;
    process.stderr.write(`note: removing ${join(tmpdir(), entry.name)} left behind by an earlier test run\n`);
    rmSync(join(tmpdir(), entry.name), { recursive: true, force: true });
  }
}

const TEST_DIR_PREFIX = 'tcpscope-ctr';

/** A fresh directory for one container test (`tcpscope-ctr<kind>-<pid>-<random>-XXXXXX`), removed by `teardown`. */
export function containerTestDir(teardown: Teardown, kind: string): string {
  const dir = mkdtempSync(join(tmpdir(), `${uniqueName(`${TEST_DIR_PREFIX}${kind}`)}-`));
  teardown.add(`rm -r ${dir}`, () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A unique container name, the container force-removed by `teardown` (before what was added earlier). */
function namedContainer(teardown: Teardown, kind: string): string {
  removeStaleContainers();
  const name = containerName(teardown.t, kind);
  teardown.add(`podman rm ${name}`, () => {
    spawnSync('podman', ['rm', '--force', '--ignore', '--time', '0', name], { env: podmanEnv(), stdio: 'ignore', timeout: DEADLINE_MS });
  });
  return name;
}

function inspectRunning(name: string): RunningContainer {
  const [id, pid] = podman(['inspect', '--format', '{{.Id}} {{.State.Pid}}', name]).split(' ');
  if (!/^[0-9a-f]{64}$/.test(id!) || !(Number(pid) > 0)) throw new Error(`podman inspect ${name}: expected a running container, got id ${id} pid ${pid}`);
  return { name, id: id!, pid: Number(pid) };
}

export interface AgentContainerOptions {
  readonly image: string;
  /** A network namespace under /run/netns the agent joins (no host network, no podman bridge). */
  readonly netns: string;
  /** Test directory holding config.yaml; the agent writes to its `out` subdirectory. */
  readonly dir: string;
  readonly env?: Readonly<Record<string, string>>;
  /** More read-only bind mounts: host path -> container path. */
  readonly readOnlyMounts?: Readonly<Record<string, string>>;
}

/**
 * Starts the agent container exactly as the DaemonSet runs it: CAP_BPF + CAP_PERFMON only, the
 * shipped seccomp profile, read-only root, no-new-privileges, private cgroup and PID namespaces,
 * tracefs and the host's cgroup2 mount point read-only; its config from `<dir>/config.yaml`
 * mounted read-only at /etc/tcpscope (as the ConfigMap is); `<dir>/out` read-write at
 * AGENT_OUTPUT_DIR for the file exporter.
 */
export function startAgentContainer(teardown: Teardown, options: AgentContainerOptions): RunningContainer {
  const name = namedContainer(teardown, 'ctr-agent');
  const hostCgroup = hostCgroup2MountPoint(readFileSync('/proc/self/mountinfo', 'utf8'));
  mkdirSync(join(options.dir, 'out'), { recursive: true });
  podman([
    'run', '-d', '--name', name,
    ...agentSecurityArgs({ tracefs: true, hostCgroup, seccomp: 'shipped' }),
    '--network', `ns:/run/netns/${options.netns}`,
    '-v', `${join(options.dir, 'config.yaml')}:/etc/tcpscope/config.yaml:ro`,
    '-v', `${join(options.dir, 'out')}:${AGENT_OUTPUT_DIR}`,
    ...Object.entries(options.readOnlyMounts ?? {}).flatMap(([host, inside]) => ['-v', `${host}:${inside}:ro`]),
    ...Object.entries(options.env ?? {}).flatMap(([k, v]) => ['-e', `${k}=${v}`]),
    options.image,
  ]);
  return inspectRunning(name);
}

/** Writes the agent's config as `<dir>/config.yaml`. */
export function writeContainerAgentConfig(dir: string, config: Readonly<Record<string, unknown>>): void {
  writeFileSync(join(dir, 'config.yaml'), stringify(config));
}

export interface WorkloadOptions {
  readonly image: string;
  readonly kind: string;
  readonly netns: string;
  /** --cgroup-parent: a kubelet-style pod cgroup (container_cgroups.ts). */
  readonly cgroupParent: string;
  /** Arguments of tcp_peer.js (`server ...` or `client ...`). */
  readonly peerArgs: readonly string[];
}

/** A workload container made but not started: its id is known (e.g. for the pod's status). */
export interface CreatedContainer {
  readonly name: string;
  readonly id: string;
}

/**
 * A workload container whose first process (pid 1 inside, `pid` on the host once started) is the
 * image's node running tcp_peer.js: the process that opens the sockets is the one podman names.
 */
export function createWorkload(teardown: Teardown, options: WorkloadOptions): CreatedContainer {
  const name = namedContainer(teardown, options.kind);
  const id = podman([
    'create', '--name', name,
    '--network', `ns:/run/netns/${options.netns}`,
    '--cgroup-parent', options.cgroupParent,
    '--read-only', '--cap-drop', 'ALL',
    '-v', `${TCP_PEER_JS}:${PEER_IN_CONTAINER}:ro`,
    '--entrypoint', 'node',
    options.image,
    PEER_IN_CONTAINER, ...options.peerArgs,
  ]);
  return { name, id };
}

export function startCreated(container: CreatedContainer): RunningContainer {
  podman(['start', container.name]);
  return inspectRunning(container.name);
}

export function startWorkload(teardown: Teardown, options: WorkloadOptions): RunningContainer {
  return startCreated(createWorkload(teardown, options));
}

/**
 * Waits until the agent has exported a `tcp.connect` event from `cgroup` (a process.linux.cgroup
 * value) to the file exporter's `path`. tcp_peer clients started with holdMs -1 hold their first
 * connection until SIGUSR1, and install that handler before connecting: once a connection is
 * established the signal can no longer arrive too early (node's own SIGUSR1 action starts the
 * inspector instead).
 */
export async function waitForConnect(path: string, cgroup: string, what: string): Promise<void> {
  await waitUntil(
    () => readOtlpJsonFileSoFar(path).logs.some((r) => r.eventName === 'tcp.connect' && r.attributes['process.linux.cgroup'] === cgroup),
    DEADLINE_MS,
    `${what}: a tcp.connect event in ${path}`,
  );
}

/** The first JSON line a tcp_peer container printed. */
export async function firstJsonLine<T>(name: string): Promise<T> {
  const logs = await waitForLogs(name, (l) => l.split('\n').some((line) => line.startsWith('{')), `${name} to print its JSON line`);
  return JSON.parse(logs.split('\n').find((line) => line.startsWith('{'))!) as T;
}
