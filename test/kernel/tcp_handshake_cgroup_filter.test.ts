// tcp_handshake's cgroup_prefix filter on the real kernel, through pod churn: the kernel's cgroup
// set follows the subtree (removed cgroups leave it), so new pods keep producing events long after
// more cgroups than the set holds have come and gone; when more exist at once than it holds, the
// ones left out make no events and the log says so once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import type { AgentLogger } from '../../src/logger';
import { TcpHandshakeReceiver } from '../../src/receivers/tcp_handshake/receiver';
import { TestCgroup, testCgroupBase } from '../support/cgroup';
import { startChurn, type Churn } from '../support/cgroup_churn';
import { waitUntil } from '../support/child';
import { HANDSHAKE_TEST_CONFIG } from '../support/handshake';
import { requireKernel } from '../support/kernel';
import { RecordingLogsConsumer, RecordingMetricsConsumer } from '../support/recording_consumer';
import { testSettings } from '../support/settings';

const CAPACITY = 16;
const PODS_PER_ROUND = 10;

test('cgroup_prefix: removed cgroups leave the kernel set, new pods keep their events; a full set warns once', async (t) => {
  if (!requireKernel(t)) return;
  const basePath = testCgroupBase('hsfilter');
  const base = TestCgroup.create(basePath);
  const home = TestCgroup.create(`${basePath}/home`); // outside the prefix: the listener lives here
  const pods = TestCgroup.create(`${basePath}/pods`);
  const made = new Set<string>();
  const warnings: string[] = [];
  const DUPLICATE_AGENT_WARNING = /BPF program\(s\) of another \w+ receiver are already loaded/;
  const settings = testSettings('tcp_handshake');
  const logger: AgentLogger = {
    ...settings.logger,
    // Whether another agent's programs are loaded depends on the host, not on this test.
    warn: (m: string) => void (DUPLICATE_AGENT_WARNING.test(m) || warnings.push(m)),
    child: () => logger,
  };
  const logs = new RecordingLogsConsumer();
  const metrics = new RecordingMetricsConsumer();
  const receiver = new TcpHandshakeReceiver(
    { ...settings, logger },
    { ...HANDSHAKE_TEST_CONFIG, collection_interval: '100ms', cgroup_prefix: pods.path, max_filter_cgroups: CAPACITY },
    { logs, metrics },
  );
  let churn: Churn | undefined;
  t.after(async () => {
    churn?.kill();
    await receiver.shutdown();
    for (const dir of made) {
      try {
        rmdirSync(dir);
      } catch {
        // removed by the test already
      }
    }
    home.remove();
    pods.remove();
    base.remove();
  });
  await receiver.start({ reportFatal: (e) => assert.fail(e) });
  churn = startChurn(home, base);

  const connectsFrom = (dir: string) =>
    logs.records.filter((r: ReadableLogRecord) => r.eventName === 'tcp.connect' && r.attributes['process.linux.cgroup'] === `0::${dir}`).length;
  /** Refreshes (each before a metrics push) that ran after this call. */
  const refreshed = async () => {
    const pushes = metrics.batches.length;
    await waitUntil(() => metrics.batches.length >= pushes + 2, 20_000, 'two collections (filter refreshes)');
  };
  let serial = 0;
  /** Makes `count` pods, lets the filter refresh, connects once from each: how many made an event. */
  const round = async (count: number) => {
    const dirs = Array.from({ length: count }, () => `${pods.path}/pod${++serial}`);
    for (const d of dirs) {
      mkdirSync(join(pods.root, d));
      made.add(join(pods.root, d));
    }
    await refreshed();
    await churn!.ask(`connect ${dirs.map((d) => join(pods.root, d)).join(' ')}`);
    // A last connection from the prefix itself (always in the set): once its event is here, every
    // event of the round is (one ring buffer, one process connecting in order).
    const sentinel = connectsFrom(pods.path);
    await churn!.ask(`connect ${pods.directory}`);
    await waitUntil(() => connectsFrom(pods.path) === sentinel + 1, 20_000, 'the sentinel connect event');
    const withEvents = dirs.filter((d) => connectsFrom(d) > 0);
    for (const d of dirs) assert.ok(connectsFrom(d) <= 1, `at most one event from ${d}`);
    for (const d of dirs) {
      rmdirSync(join(pods.root, d));
      made.delete(join(pods.root, d));
    }
    return withEvents.length;
  };

  // Three rounds of 10 pods: 30 cgroups came and went through a set of 16 (the prefix + 15).
  for (let r = 0; r < 3; r++) assert.equal(await round(PODS_PER_ROUND), PODS_PER_ROUND, `round ${r + 1}: every new pod has its event`);
  assert.deepEqual(warnings, []);

  // 20 pods at once: the prefix and 15 of them fit, the other 5 make no events; said once.
  assert.equal(await round(20), CAPACITY - 1);
  await refreshed();
  assert.equal(warnings.length, 1, warnings.join('\n'));
  assert.match(warnings[0], /sockets of the 5 not in it make no events .*Raise receivers\.tcp_handshake\.max_filter_cgroups/);

  // They are gone again: a new round fits whole.
  assert.equal(await round(PODS_PER_ROUND), PODS_PER_ROUND);
  assert.equal(warnings.length, 1, 'said once');
});
