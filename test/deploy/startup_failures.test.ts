// The agent container started as the DaemonSet starts it (test/support/podman.ts agentSecurityArgs,
// config/kubernetes.yaml with service.host.cgroup_root: /host/sys/fs/cgroup), but with one grant
// missing at a time: the tracefs volume, the host-cgroup volume, the shipped seccomp profile, the
// capabilities. Each run must exit 1 within a second of the agent's own run time (node's
// process.uptime() at exit: its start, the config, and the checks made before anything is
// built), with one line that names what is missing and the manifest field that grants it.
// podman's StartedAt..FinishedAt (runc and conmon included) is reported beside it.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parse, stringify } from 'yaml';
import { checkKernelRequirements, ensureTracefs, GRANTED_BY, permissionHint, probeBpf } from '../../src/bridge/preflight';
import { describeError } from '../../src/agent';
import { HOW_TO_MOUNT, locateHostCgroupRoot } from '../../src/host/host_cgroup_root';
import { PACKAGE_ROOT } from '../../src/paths';
import {
  agentSecurityArgs,
  containerName,
  hostCgroup2MountPoint,
  podman,
  podmanEnv,
  requireContainers,
  testImageId,
  type AgentContainerMounts,
} from '../support/podman';

/** The bound on the agent's own run time (measured here: 0.25 to 0.6 s, on 2 loaded cores with a CPU hog; 0.2 s idle). */
const STARTUP_FAILURE_LIMIT_MS = 1_000;
const RUN_TIME_PREFIX = 'tcpscope-test: run time ';

const EVERYTHING = (): AgentContainerMounts => ({
  tracefs: true,
  hostCgroup: hostCgroup2MountPoint(readFileSync('/proc/self/mountinfo', 'utf8')),
  seccomp: 'shipped',
});

/**
 * Loaded into the agent with NODE_OPTIONS=--require: at exit it prints process.uptime(), node's
 * own count from its start to the exit (the image's launcher, a `sh` that execs node, adds a few
 * milliseconds before). Not the kernel's starttime: exec keeps the pid of runc's init, so that
 * would count the container's set-up too.
 */
const RUN_TIME_HOOK = `'use strict';
process.on('exit', () => {
  process.stderr.write('${RUN_TIME_PREFIX}' + Math.round(process.uptime() * 1000) + ' ms\\n');
});
`;

/** The DaemonSet's config (config/kubernetes.yaml) with the host cgroup root as the DaemonSet sets it. */
function daemonSetConfig(t: TestContext, cgroupRoot: string): string {
  const config = parse(readFileSync(join(PACKAGE_ROOT, 'config', 'kubernetes.yaml'), 'utf8')) as {
    service: { host?: { cgroup_root?: string } };
  };
  config.service.host = { ...config.service.host, cgroup_root: cgroupRoot };
  const dir = mkdtempSync(join(tmpdir(), 'tcpscope-startup-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'config.yaml');
  writeFileSync(file, stringify(config));
  writeFileSync(join(dir, 'run_time.js'), RUN_TIME_HOOK);
  return file;
}

interface Outcome {
  readonly exitCode: number;
  /** The agent's lines on stderr (podman's own WARN/ERRO lines and the run time hook's left out). */
  readonly lines: readonly string[];
  /** The agent's own run time, from RUN_TIME_HOOK. */
  readonly agentMs: number;
  /** Container StartedAt to FinishedAt as podman recorded them. */
  readonly containerMs: number;
}

function runAgentContainer(t: TestContext, securityArgs: readonly string[], cgroupRoot = '/host/sys/fs/cgroup'): Outcome {
  const name = containerName(t, 'startup');
  const config = daemonSetConfig(t, cgroupRoot);
  const args = [
    'run', '--name', name, '--network', 'none',
    ...securityArgs,
    '-v', `${config}:/etc/tcpscope/config.yaml:ro`,
    '-v', `${join(dirname(config), 'run_time.js')}:/tcpscope-test/run_time.js:ro`,
    '-e', 'NODE_OPTIONS=--require=/tcpscope-test/run_time.js',
    '-e', 'K8S_NODE_NAME=node-1', '-e', 'OTLP_ENDPOINT=198.18.0.1:4317',
    testImageId(),
  ];
  // Bounded by a generous deadline only: what is measured is the container's own run time below.
  const run = spawnSync('podman', args, { env: podmanEnv(), encoding: 'utf8', timeout: 120_000 });
  assert.equal(run.error, undefined, `podman run: ${run.error?.message}`);
  const [exitCode, started, finished] = podman(['inspect', '--format', '{{.State.ExitCode}} {{.State.StartedAt.UnixNano}} {{.State.FinishedAt.UnixNano}}', name]).split(' ');
  const all = run.stderr.split('\n');
  const timed = all.filter((line) => line.startsWith(RUN_TIME_PREFIX));
  assert.equal(timed.length, 1, `the run time hook's line in:\n${run.stderr}`);
  const lines = all.filter((line) => line.trim() !== '' && !line.startsWith(RUN_TIME_PREFIX) && !/^(WARN|ERRO|time=)/.test(line));
  const outcome = {
    exitCode: Number(exitCode),
    lines,
    agentMs: Number(timed[0].slice(RUN_TIME_PREFIX.length, -' ms'.length)),
    containerMs: Number((BigInt(finished) - BigInt(started)) / 1_000_000n),
  };
  process.stderr.write(`# ${t.name}: exit ${outcome.exitCode}; agent ran ${outcome.agentMs} ms, container ${outcome.containerMs} ms\n`);
  return outcome;
}

function assertFastRefusal(outcome: Outcome, expected: (line: string) => boolean, what: string): void {
  assert.equal(outcome.exitCode, 1, outcome.lines.join('\n'));
  assert.equal(outcome.lines.length, 1, `one line, naming ${what}: ${outcome.lines.join('\n')}`);
  assert.ok(expected(outcome.lines[0]), outcome.lines[0]);
  assert.ok(outcome.agentMs >= 0 && outcome.agentMs < STARTUP_FAILURE_LIMIT_MS, `the agent ran ${outcome.agentMs} ms, limit ${STARTUP_FAILURE_LIMIT_MS} ms`);
}

/** Polls `podman logs` until `pattern` shows (bounded in count and time); returns the logs. */
async function waitForLog(name: string, pattern: RegExp, deadlineMs: number): Promise<string> {
  const until = Date.now() + deadlineMs;
  for (let attempt = 0; attempt < 1_000; attempt++) {
    // The agent logs to stderr, which `podman logs` replays on its own stderr.
    const read = spawnSync('podman', ['logs', name], { env: podmanEnv(), encoding: 'utf8', timeout: 30_000 });
    const logs = `${read.stdout ?? ''}${read.stderr ?? ''}`;
    if (pattern.test(logs)) return logs;
    if (Date.now() > until) throw new Error(`no ${pattern} in ${deadlineMs / 1000} s; logs:\n${logs}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`no ${pattern} after 1000 polls`);
}

// The control: with every grant the same container gets past the checks and runs (so each refusal
// below is caused by the one grant taken away), and stops cleanly on SIGTERM.
test('with every grant the DaemonSet gives, the same container starts its pipelines and stops with 0', async (t) => {
  if (!requireContainers(t)) return;
  const name = containerName(t, 'startup');
  const config = daemonSetConfig(t, '/host/sys/fs/cgroup');
  podman([
    'run', '--detach', '--name', name, '--network', 'none',
    ...agentSecurityArgs(EVERYTHING()),
    '-v', `${config}:/etc/tcpscope/config.yaml:ro`,
    '-e', 'K8S_NODE_NAME=node-1', '-e', 'OTLP_ENDPOINT=198.18.0.1:4317',
    testImageId(),
  ]);
  const logs = await waitForLog(name, /INFO {2}running \d+ pipeline\(s\)/, 60_000);
  assert.match(logs, /cgroup v2 hierarchy: \/host\/sys\/fs\/cgroup \(service\.host\.cgroup_root; the host's root cgroup\)/);
  podman(['stop', '--time', '30', name], 60_000);
  assert.equal(podman(['inspect', '--format', '{{.State.ExitCode}}', name]), '0');
});

const HELD_BPF_PERFMON = `CapEff:\t${((1n << 39n) | (1n << 38n)).toString(16).padStart(16, '0')}\nSeccomp:\t2\n`;

/** The line `tcpscope run` prints for an error (src/cli.ts reportError). */
function refusalLine(fail: () => unknown): string {
  try {
    fail();
  } catch (error) {
    return `tcpscope: ${describeError(error)}`;
  }
  throw new Error('expected a refusal');
}

test('docs/deployment.md quotes each start-up refusal exactly as the agent prints it', () => {
  const docs = readFileSync(join(PACKAGE_ROOT, 'docs', 'deployment.md'), 'utf8');
  const unmountable = () => {
    throw Object.assign(new Error('mount: permission denied'), { code: 'EPERM' });
  };
  const noHostCgroup = { mountinfo: () => '', selfCgroup: () => '0::/\n', cgroupNamespace: () => 'cgroup:[4026532712]', inspect: () => undefined };
  const seccompRefusal = { probeBpf: () => { throw Object.assign(new Error('bpf(BPF_MAP_CREATE) failed: Operation not permitted'), { code: 'BPF_ERROR', errno: 1, libbpfLog: '' }); } };
  const lines = [
    refusalLine(() => ensureTracefs({ mountinfo: () => '', stat: () => undefined, mount: unmountable, caps: () => 0n, uid: () => 0 })),
    refusalLine(() => locateHostCgroupRoot('/host/sys/fs/cgroup', noHostCgroup)),
    refusalLine(() => probeBpf(seccompRefusal, () => HELD_BPF_PERFMON)),
    refusalLine(() => checkKernelRequirements('/proc/self/status', 0n)),
  ];
  for (const line of lines) assert.ok(docs.includes(`\`\` ${line} \`\``), `docs/deployment.md should quote:\n${line}`);
});


test('no tracefs volume: exits 1 at once naming volume `tracefs` and its paths', (t) => {
  if (!requireContainers(t)) return;
  const outcome = runAgentContainer(t, agentSecurityArgs({ ...EVERYTHING(), tracefs: false }));
  assertFastRefusal(
    outcome,
    (line) =>
      line ===
      'tcpscope: BPF_LOAD_FAILED: tracefs is not mounted and could not be mounted at /sys/kernel/tracing (mounting needs CAP_SYS_ADMIN, which a container lacks): ' +
        "the syscalls:* tracepoints are attached through it. In a container, mount the host's tracefs read-only: " +
        `${GRANTED_BY.tracefs}. On a host, run \`mount -t tracefs nodev /sys/kernel/tracing\``,
    'the tracefs volume',
  );
});

test('no host-cgroup volume: exits 1 at once naming volume `host-cgroup` and service.host.cgroup_root', (t) => {
  if (!requireContainers(t)) return;
  const outcome = runAgentContainer(t, agentSecurityArgs({ ...EVERYTHING(), hostCgroup: undefined }));
  assertFastRefusal(
    outcome,
    (line) => line === `tcpscope: HOST_CGROUP_UNUSABLE: service.host.cgroup_root: /host/sys/fs/cgroup is not a directory; ${HOW_TO_MOUNT}`,
    'the host-cgroup volume',
  );
});

test('no host-cgroup volume and no cgroup_root: refuses the private cgroup namespace\'s own view at once', (t) => {
  if (!requireContainers(t)) return;
  const outcome = runAgentContainer(t, agentSecurityArgs({ ...EVERYTHING(), hostCgroup: undefined }), '');
  assertFastRefusal(
    outcome,
    (line) =>
      // A v2 host shows the container its own cgroup2 at /sys/fs/cgroup; a hybrid host none.
      /^tcpscope: HOST_CGROUP_UNUSABLE: no cgroup2 (mount here is the host's root cgroup: .*|is mounted and )the agent runs in a private cgroup namespace \(cgroup:\[\d+\], \/proc\/self\/cgroup 0::\/\), where a cgroup2 mounted inside is rooted at the agent's own cgroup; /.test(line) &&
      line.endsWith(HOW_TO_MOUNT),
    'the host-cgroup volume',
  );
});

test("the runtime's default seccomp profile: exits 1 at once naming securityContext.seccompProfile and the shipped profile", (t) => {
  if (!requireContainers(t)) return;
  const outcome = runAgentContainer(t, agentSecurityArgs({ ...EVERYTHING(), seccomp: 'default' }));
  assertFastRefusal(
    outcome,
    (line) =>
      line ===
      'tcpscope: BPF_LOAD_FAILED: bpf() failed at start-up (creating a one-entry array map): bpf(BPF_MAP_CREATE) failed: Operation not permitted ' +
        `(${permissionHint(HELD_BPF_PERFMON)})`,
    'the seccomp profile',
  );
  assert.ok(outcome.lines[0].includes(GRANTED_BY.seccomp));
});

test('every capability dropped: exits 1 at once naming securityContext.capabilities add [BPF, PERFMON]', (t) => {
  if (!requireContainers(t)) return;
  const args = agentSecurityArgs(EVERYTHING());
  const at = args.indexOf('--cap-add');
  assert.deepEqual(args.slice(at, at + 2), ['--cap-add', 'BPF,PERFMON']);
  args.splice(at, 2);
  const outcome = runAgentContainer(t, args);
  assertFastRefusal(
    outcome,
    (line) =>
      line ===
      'tcpscope: BPF_LOAD_FAILED: tcpscope needs CAP_BPF and CAP_PERFMON (or CAP_SYS_ADMIN, or root) to load its eBPF programs, and this process lacks CAP_BPF and CAP_PERFMON ' +
        `(uid 0 in a container holds only the capabilities the runtime grants). In a container, grant them: ${GRANTED_BY.capabilities}. ` +
        'On a host, run as root, or as a non-root user grant them with CAP_DAC_READ_SEARCH, which reading tracefs needs: ' +
        '`setcap cap_bpf,cap_perfmon,cap_dac_read_search+ep $(readlink -f $(which node))`',
    'the capabilities',
  );
});
