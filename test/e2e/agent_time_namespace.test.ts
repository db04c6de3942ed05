// End to end: the real agent inside a time namespace whose CLOCK_MONOTONIC runs a day ahead of
// the host's (`unshare --time --monotonic 86400`). BPF programs stamp events with the host's
// monotonic clock, so the agent must take the namespace's offset out: events carry the wall-clock
// time they happened, not a day earlier.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { agentArgv, pipelinesFor, startAgent, testDir, writeAgentConfig } from '../support/agent';
import { waitUntil } from '../support/child';
import { requireKernel } from '../support/kernel';
import { readOtlpJsonFileSoFar } from '../support/otlp_json';
import { startTcpPeers } from '../support/tcp_peers';
import { workloadCgroup } from '../support/workload';

const CONNECTIONS = 3;
const DAY_S = 86_400;

function unshareSupportsTime(): boolean {
  try {
    return execFileSync('unshare', ['--help'], { encoding: 'utf8' }).includes('--monotonic') && existsSync('/proc/self/timens_offsets');
  } catch {
    return false;
  }
}

test('in a time namespace a day ahead, events carry the wall-clock time they happened', async (t) => {
  if (!requireKernel(t)) return;
  if (!unshareSupportsTime()) {
    if (process.env.CI === 'true') throw new Error('this host has no time namespaces or unshare lacks --monotonic');
    t.skip('no time namespaces (CONFIG_TIME_NS) or unshare without --monotonic');
    return;
  }
  let agentPid: number | undefined;
  t.after(() => {
    if (agentPid === undefined) return;
    try {
      process.kill(agentPid, 'SIGKILL');
    } catch {
      // already gone
    }
  });
  const { cgroup, children } = workloadCgroup(t, 'timens');
  const dir = testDir(t, 'tcpscope-timens');
  const out = join(dir, 'telemetry.jsonl');
  const config = writeAgentConfig(dir, {
    receivers: { tcp_lifecycle: { drain_interval: '20ms' } },
    exporters: { file: { path: out, flush_interval: '100ms' } },
    pipelines: pipelinesFor(['logs'], ['tcp_lifecycle'], ['file']),
  });

  // --fork: a time namespace applies to the children of the process that made it.
  const launcher = await startAgent(children, ['unshare', '--time', `--monotonic=${DAY_S}`, '--fork', ...agentArgv(config)], {
    ready: (stderr) => stderr.includes('running 1 pipeline'),
    what: 'the agent to start',
    timeoutMs: 20_000,
  });
  const childrenFile = `/proc/${launcher.pid}/task/${launcher.pid}/children`;
  agentPid = Number(readFileSync(childrenFile, 'utf8').trim().split(/\s+/)[0]);
  assert.match(readFileSync(`/proc/${agentPid}/timens_offsets`, 'utf8'), new RegExp(`^monotonic\\s+${DAY_S}\\s+0$`, 'm'), 'the agent runs in the shifted namespace');

  const before = BigInt(Date.now()) * 1_000_000n;
  const { client } = await startTcpPeers(cgroup, children, { connections: CONNECTIONS, replyBytes: 10, sendBytes: 10, holdMs: 5 });
  await client.nextJson();
  const ours = () =>
    existsSync(out) ? readOtlpJsonFileSoFar(out).logs.filter((r) => r.attributes['process.linux.cgroup'] === cgroup.attribute) : [];
  await waitUntil(() => ours().length === 4 * CONNECTIONS, 20_000, 'the events of our connections in the file');
  const after = BigInt(Date.now()) * 1_000_000n;

  for (const record of ours()) {
    const time = BigInt(record.timeUnixNano ?? '0');
    // Wall-clock reads in this process bracket the connections; 1 s of slack for Date.now()'s
    // millisecond resolution and the agent's resample interval, far below the day at stake.
    assert.ok(time >= before - 1_000_000_000n && time <= after + 1_000_000_000n, `${record.eventName} at ${time}, expected within [${before}, ${after}]`);
  }
  process.kill(agentPid, 'SIGTERM');
  assert.equal(await launcher.exited(30_000), 0, launcher.stderr());
  agentPid = undefined;
});
