// The agent in a private cgroup namespace, as in a pod: `unshare --cgroup --mount` from a test
// cgroup, with a cgroup2 mounted inside the namespace over the host's (so it is rooted at the test
// cgroup, as a container runtime mounts it). Without the host's hierarchy the start-up check
// refuses (and `tcpscope run` exits with the message); with the host's cgroup2 bound into the
// namespace (service.host.cgroup_root, or found in mountinfo) a cgroup's id resolves to its host path.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findCgroupV2Root } from '../../src/host/cgroup_resolver';
import { TestCgroup, testCgroupBase } from '../support/cgroup';
import { requireKernel } from '../support/kernel';

const PROBE = join(__dirname, '../support/cgroup_root_probe.js');
const CLI = join(__dirname, '../../../bin/tcpscope.js');

interface ProbeResult {
  readonly root?: string | null;
  readonly paths?: Record<string, string | null>;
  readonly error?: { readonly code: string; readonly message: string };
}

function shellQuote(words: readonly string[]): string {
  return words.map((w) => `'${w.replace(/'/g, `'\\''`)}'`).join(' ');
}

/**
 * Runs `command` in `cgroup`, in a new cgroup namespace (rooted there) and a private mount
 * namespace where a cgroup2 is mounted over the host's mount point; `hostBind` first binds the
 * host's hierarchy there read-only, as a DaemonSet's hostPath mount does.
 */
function inCgroupNamespace(cgroup: TestCgroup, hostRoot: string, hostBind: string | undefined, command: readonly string[]) {
  const bind = hostBind ? `mount --bind '${hostRoot}' '${hostBind}' && mount -o remount,bind,ro '${hostBind}' && ` : '';
  // The kernel refuses cgroup2 (one superblock) right on top of a cgroup2 mount root (EBUSY):
  // a tmpfs goes between them.
  const inside = `${bind}mount -t tmpfs tmpfs '${hostRoot}' && mount -t cgroup2 cgroup2 '${hostRoot}' && exec ${shellQuote(command)}`;
  const result = spawnSync('sh', ['-c', `echo $$ > '${cgroup.directory}/cgroup.procs' && exec unshare --cgroup --mount --propagation private sh -c ${shellQuote([inside])}`], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.equal(result.error, undefined, `could not run in a cgroup namespace: ${result.error?.message}`);
  return result;
}

function probe(cgroup: TestCgroup, hostRoot: string, hostBind: string | undefined, configured: string, ids: readonly bigint[]): ProbeResult {
  const result = inCgroupNamespace(cgroup, hostRoot, hostBind, [process.execPath, PROBE, configured, ...ids.map(String)]);
  assert.equal(result.status, 0, `probe failed: ${result.stderr}`);
  return JSON.parse(result.stdout) as ProbeResult;
}

test("in a private cgroup namespace: refuses the namespace's own cgroup2, resolves host paths through the host's", async (t) => {
  if (!requireKernel(t)) return;
  const hostRoot = findCgroupV2Root();
  assert.ok(hostRoot, 'no cgroup2 hierarchy that is the host root cgroup is mounted');
  const base = testCgroupBase('cgns');
  const agent = TestCgroup.create(`${base}/agent`);
  const workload = TestCgroup.create(`${base}/workload`);
  const dir = mkdtempSync(join(tmpdir(), 'tcpscope-cgns-'));
  t.after(() => {
    agent.remove(base);
    workload.remove(base);
    rmSync(dir, { recursive: true, force: true });
  });
  const hostBind = join(dir, 'host-cgroup');
  mkdirSync(hostBind);
  const agentId = statSync(agent.directory, { bigint: true }).ino;
  const workloadId = statSync(workload.directory, { bigint: true }).ino;

  // Without the host's hierarchy: the only cgroup2 is the namespace's own, rooted at the agent's cgroup.
  const alone = probe(agent, hostRoot, undefined, '', [workloadId]);
  assert.equal(alone.error?.code, 'HOST_CGROUP_UNUSABLE');
  assert.match(
    alone.error?.message ?? '',
    new RegExp(
      `^no cgroup2 mount here is the host's root cgroup: ${hostRoot} is a cgroup2 directory with cgroup id ${agentId}, mounted from /, ` +
        `not the host's root cgroup \\(id 1\\): the agent runs in a private cgroup namespace \\(cgroup:\\[\\d+\\], /proc/self/cgroup 0::/\\)`,
    ),
  );
  assert.match(alone.error?.message ?? '', /set service\.host\.cgroup_root to it$/);
  const ownConfigured = probe(agent, hostRoot, undefined, hostRoot, [workloadId]);
  assert.equal(ownConfigured.error?.code, 'HOST_CGROUP_UNUSABLE');
  assert.match(ownConfigured.error?.message ?? '', new RegExp(`^service\\.host\\.cgroup_root: ${hostRoot} is a cgroup2 directory with cgroup id ${agentId},`));

  // The real agent refuses before loading anything, exit code 1, the message on stderr.
  const config = join(dir, 'config.yaml');
  writeFileSync(config, 'receivers: {tcp_lifecycle: }\nexporters: {debug: }\nservice:\n  pipelines:\n    logs: {receivers: [tcp_lifecycle], exporters: [debug]}\n');
  const run = inCgroupNamespace(agent, hostRoot, undefined, [process.execPath, CLI, 'run', '--config', config]);
  assert.equal(run.status, 1, run.stderr);
  assert.match(run.stderr, /tcpscope: HOST_CGROUP_UNUSABLE: no cgroup2 mount here is the host's root cgroup: .*private cgroup namespace/);
  assert.doesNotMatch(run.stderr, /attached/);

  // With the host's hierarchy bound in and named: host paths, whatever the namespace.
  const expected = { [String(workloadId)]: workload.path, [String(agentId)]: agent.path };
  const configured = probe(agent, hostRoot, hostBind, hostBind, [workloadId, agentId]);
  assert.deepEqual(configured, { root: hostBind, paths: expected });
  // ... and found in mountinfo without the key: the bound host root, not the namespace's own mount.
  const found = probe(agent, hostRoot, hostBind, '', [workloadId, agentId]);
  assert.deepEqual(found, { root: hostBind, paths: expected });
});
