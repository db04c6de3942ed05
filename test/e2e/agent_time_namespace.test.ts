// End to end: the real agent inside a time namespace whose CLOCK_MONOTONIC runs a day ahead of
// the host's (`unshare --time --monotonic 86400`). BPF programs stamp events with the host's
// monotonic clock, so the agent must take the namespace's offset out: events carry the wall-clock
// time they happened, not a day earlier.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../../src/paths';
import { TestCgroup } from '../support/cgroup';
import { startChild, TCP_PEER, waitUntil, type RunningChild } from '../support/child';
import { requireKernel } from '../support/kernel';
import { readOtlpJsonFile } from '../support/otlp_json';

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
  const dir = mkdtempSync(join(tmpdir(), 'tcpscope-timens-'));
  const out = join(dir, 'telemetry.jsonl');
  const config = join(dir, 'tcpscope.yaml');
  writeFileSync(
    config,
    `receivers:
  tcp_lifecycle:
    drain_interval: 20ms
exporters:
  file:
    path: ${out}
    flush_interval: 100ms
service:
  pipelines:
    logs: {receivers: [tcp_lifecycle], exporters: [file]}
`,
  );
  const base = `/tcpscope-timens-${randomBytes(4).toString('hex')}`;
  const cgroup = TestCgroup.create(`${base}/app`);
  const children: RunningChild[] = [];
  let agentPid: number | undefined;
  t.after(() => {
    if (agentPid !== undefined) {
      try {
        process.kill(agentPid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    for (const c of children) c.kill();
    cgroup.remove(base);
    rmSync(dir, { recursive: true, force: true });
  });

  // --fork: a time namespace applies to the children of the process that made it.
  const launcher = startChild(['unshare', '--time', `--monotonic=${DAY_S}`, '--fork', join(PACKAGE_ROOT, 'bin', 'tcpscope'), 'run', '--config', config]);
  children.push(launcher);
  await waitUntil(() => launcher.stderr().includes('running 1 pipeline') || launcher.process.exitCode !== null, 20_000, 'the agent to start');
  assert.equal(launcher.process.exitCode, null, launcher.stderr());
  const childrenFile = `/proc/${launcher.pid}/task/${launcher.pid}/children`;
  agentPid = Number(readFileSync(childrenFile, 'utf8').trim().split(/\s+/)[0]);
  assert.match(readFileSync(`/proc/${agentPid}/timens_offsets`, 'utf8'), new RegExp(`^monotonic\\s+${DAY_S}\\s+0$`, 'm'), 'the agent runs in the shifted namespace');

  const before = BigInt(Date.now()) * 1_000_000n;
  const server = startChild(cgroup.wrap([process.execPath, TCP_PEER, 'server', '10', 'client-first']));
  children.push(server);
  const ports = await server.nextJson<{ v4: number }>();
  const client = startChild(cgroup.wrap([process.execPath, TCP_PEER, 'client', '127.0.0.1', String(ports.v4), String(CONNECTIONS), '10', '5', 'client-first']));
  children.push(client);
  await client.nextJson();
  const ours = () =>
    existsSync(out) ? readOtlpJsonFile(out).logs.filter((r) => r.attributes['process.linux.cgroup'] === cgroup.attribute) : [];
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
