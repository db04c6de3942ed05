// End to end: the real agent as a non-root user with only the capabilities the README names, run
// with setpriv. Without CAP_DAC_READ_SEARCH it cannot read tracefs (mode 0700 root) and must say
// exactly that; with it, all three receivers attach and export our connections.
// The agent runs from a world-readable copy of what it needs, so the test does not depend on where
// (or under which permissions) the clone lives.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { PACKAGE_ROOT } from '../../src/paths';
import { startAgent, stopAgent, testDir, writeAgentConfig } from '../support/agent';
import { waitUntil } from '../support/child';
import { requireKernel } from '../support/kernel';
import { readOtlpJsonFileSoFar } from '../support/otlp_json';
import { startTcpPeers } from '../support/tcp_peers';
import { workloadCgroup } from '../support/workload';

const NOBODY = 65534;
const CONNECTIONS = 3;
const RUNTIME_PATHS = ['bin', 'config', 'package.json', 'node_modules', join('dist', 'src'), join('build', 'bpf'), join('native', 'build', 'Release')];

function setpriv(caps: string, argv: readonly string[]): string[] {
  const set = `-all,${caps}`;
  return ['setpriv', `--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', `--inh-caps=${set}`, `--ambient-caps=${set}`, ...argv];
}

test('non-root with CAP_BPF + CAP_PERFMON: names CAP_DAC_READ_SEARCH for tracefs; with it, every receiver works', async (t) => {
  if (!requireKernel(t)) return;
  const { cgroup, children } = workloadCgroup(t, 'nonroot');
  const root = testDir(t, 'tcpscope-nonroot');
  // cp(1): several times faster than fs.cpSync on node_modules' thousands of files.
  for (const path of RUNTIME_PATHS) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    execFileSync('cp', ['-r', join(PACKAGE_ROOT, path), join(root, path)]);
  }
  execFileSync('chmod', ['-R', 'a+rX', root]);
  chmodSync(root, 0o755);
  const outDir = join(root, 'out');
  mkdirSync(outDir);
  chownSync(outDir, NOBODY, NOBODY);
  const out = join(outDir, 'telemetry.jsonl');
  const config = writeAgentConfig(root, {
    receivers: { tcp_lifecycle: { drain_interval: '20ms' }, tcp_handshake: null, tcp_rtt: null },
    exporters: { file: { path: out, flush_interval: '100ms' } },
    pipelines: {
      metrics: { receivers: ['tcp_lifecycle', 'tcp_handshake', 'tcp_rtt'], exporters: ['file'] },
      logs: { receivers: ['tcp_lifecycle'], exporters: ['file'] },
    },
  });
  chmodSync(config, 0o644);
  const agentArgv = [process.execPath, join(root, 'bin', 'tcpscope.js'), 'run', '--config', config];

  const tracefs = '/sys/kernel/tracing';
  const closedToOthers = existsSync(tracefs) && (statSync(tracefs).mode & 0o005) === 0;
  if (closedToOthers) {
    const [command, ...args] = setpriv('+bpf,+perfmon', agentArgv);
    const refused = spawnSync(command, args, { encoding: 'utf8', timeout: 60_000, cwd: root });
    assert.equal(refused.status, 1, refused.stderr);
    assert.match(
      refused.stderr,
      /tcpscope: BPF_LOAD_FAILED: tracefs is mounted at \/sys\/kernel\/tracing but uid 65534 may not read it \(it is mode 0700 root, and this process lacks CAP_DAC_READ_SEARCH\).*grant CAP_DAC_READ_SEARCH besides CAP_BPF and CAP_PERFMON/,
    );
    assert.doesNotMatch(refused.stderr, /not mounted/);
  }

  const agent = await startAgent(children, setpriv('+bpf,+perfmon,+dac_read_search', agentArgv), {
    ready: (stderr) => stderr.includes('running 2 pipeline'),
    what: 'the agent to start',
    timeoutMs: 30_000,
  });
  assert.equal(agent.stderr().match(/: attached /g)?.length, 3, `three receivers attached: ${agent.stderr()}`);
  const status = execFileSync('cat', [`/proc/${agent.pid}/status`], { encoding: 'utf8' });
  assert.match(status, new RegExp(`^Uid:\\s+${NOBODY}\\s+${NOBODY}`, 'm'), 'runs as nobody');

  const { client } = await startTcpPeers(cgroup, children, { connections: CONNECTIONS, replyBytes: 10, sendBytes: 10, holdMs: 5 });
  await client.nextJson();
  const ours = () => (existsSync(out) ? readOtlpJsonFileSoFar(out).logs.filter((r) => r.attributes['process.linux.cgroup'] === cgroup.attribute) : []);
  await waitUntil(() => ours().length === 4 * CONNECTIONS, 20_000, 'our connections in the file');
  const count = (name: string) => ours().filter((r) => r.eventName === name).length;
  // tcp.accept needs the syscalls:sys_exit_accept4 tracepoint, attached through tracefs.
  assert.deepEqual([count('tcp.connect'), count('tcp.accept'), count('tcp.close')], [CONNECTIONS, CONNECTIONS, 2 * CONNECTIONS]);

  await stopAgent(agent, 30_000);
});
