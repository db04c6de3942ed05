// The kernel's per-program info through the bridge, and what it is for: every receiver exports
// tcpscope.receiver.missed_runs per program, and a receiver warns at start when programs of its
// kind that are not its own are already loaded (another agent on the host exports everything too).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { SumMetricData } from '@opentelemetry/sdk-metrics';
import { BpfObject, KERNEL_PROGRAM_NAME_LENGTH } from '../../src/bridge/bpf_object';
import { validateComponentSettings } from '../../src/config/component_settings';
import { tcpHandshakeSchema, type TcpHandshakeConfig } from '../../src/receivers/tcp_handshake/config';
import { TcpHandshakeReceiver } from '../../src/receivers/tcp_handshake/receiver';
import { tcpLifecycleSchema, type TcpLifecycleConfig } from '../../src/receivers/tcp_lifecycle/config';
import { TcpLifecycleReceiver } from '../../src/receivers/tcp_lifecycle/receiver';
import { TcpRttReceiver } from '../../src/receivers/tcp_rtt/receiver';
import type { KernelReceiver } from '../../src/receivers/common/kernel_receiver';
import { requireKernel } from '../support/kernel';
import { RecordingMetricsConsumer } from '../support/recording_consumer';
import { recordingSettings } from '../support/recording-settings';
import { loadMapWalkFixture } from '../support/map_walk_fixture';

test('program info: each loaded program with its kernel id, listed among the host\'s programs under its 15-character name', (t) => {
  if (!requireKernel(t)) return;
  const bpf = loadMapWalkFixture(t);
  const info = bpf.programInfo();
  assert.equal(info.length, 1);
  assert.equal(info[0].program, 'tcpscope_fixture_long_program_name');
  assert.ok(info[0].id > 0);
  assert.equal(info[0].recursionMisses, 0n, 'never attached, never run');
  const listed = BpfObject.loadedPrograms().find((p) => p.id === info[0].id);
  assert.deepEqual(listed, { id: info[0].id, name: 'tcpscope_fixture_long_program_name'.slice(0, KERNEL_PROGRAM_NAME_LENGTH) });
});

const RTT_CONFIG = { collection_interval: '1h', sample_interval: '0', group_by: ['cgroup'], scale: 3, histogram: 'exponential', max_series: 64 } as const;

test('a second receiver of a kind warns at start, naming the programs already loaded; each exports missed_runs per program', async (t) => {
  if (!requireKernel(t)) return;
  const first = recordingSettings('tcp_rtt', 'first', 'info');
  const second = recordingSettings('tcp_rtt', 'second', 'info');
  const a = new TcpRttReceiver(first, { ...RTT_CONFIG, group_by: ['cgroup'] }, { metrics: new RecordingMetricsConsumer() });
  const b = new TcpRttReceiver(second, { ...RTT_CONFIG, group_by: ['cgroup'] }, { metrics: new RecordingMetricsConsumer() });
  t.after(async () => {
    await b.shutdown();
    await a.shutdown();
  });
  await a.start({ reportFatal: (e) => assert.fail(e) });
  const aProgram = a.collect().scopeMetrics[0].metrics.find((m) => m.descriptor.name === 'tcpscope.receiver.missed_runs') as SumMetricData;
  assert.deepEqual(aProgram.dataPoints.map((p) => p.attributes), [{ receiver: 'tcp_rtt/first', program: 'tcp_rtt_probe' }]);
  await b.start({ reportFatal: (e) => assert.fail(e) });

  // Other tests on this host may load tcp_rtt programs too: the warning must name ours at least.
  const aIds = programIds(a);
  const warnings = second.lines.filter((l) => l.startsWith('WARN') && l.includes('already loaded'));
  assert.equal(warnings.length, 1, second.lines.join('\n'));
  for (const id of aIds) assert.ok(warnings[0].includes(`tcp_rtt_probe (id ${id})`), `the warning names ${id}: ${warnings[0]}`);
  assert.ok(!programIds(b).some((id) => warnings[0].includes(`(id ${id})`)), 'its own programs are not in the warning');
  assert.match(warnings[0], /Another tcpscope agent on this host \(or a second tcp_rtt receiver in this one\) reports the same connections/);
});

function programIds(receiver: KernelReceiver): number[] {
  return receiver.programInfo().map((p) => p.id);
}

test('every receiver exports missed_runs for each of its loaded programs', async (t) => {
  if (!requireKernel(t)) return;
  // From the schemas' defaults (a small ring and tables), so new config keys need no change here.
  const lifecycleConfig = validateComponentSettings(tcpLifecycleSchema, { ring_buffer_size: 4096, max_connections: 1024 }, ['receivers', 'tcp_lifecycle']) as TcpLifecycleConfig;
  const handshakeConfig = validateComponentSettings(tcpHandshakeSchema, { ring_buffer_size: 4096 }, ['receivers', 'tcp_handshake']) as TcpHandshakeConfig;
  const lifecycle = new TcpLifecycleReceiver(recordingSettings('tcp_lifecycle'), lifecycleConfig, { metrics: new RecordingMetricsConsumer() });
  const handshake = new TcpHandshakeReceiver(recordingSettings('tcp_handshake'), handshakeConfig, { metrics: new RecordingMetricsConsumer() });
  t.after(async () => {
    await lifecycle.shutdown();
    await handshake.shutdown();
  });
  for (const [receiver, programs] of [
    [lifecycle, ['tcp_lifecycle_set_state', 'tcp_lifecycle_reset_sent', 'tcp_lifecycle_reset_received', 'tcp_lifecycle_destroy']], // metrics only: the accept hooks are not loaded
    [handshake, ['tcp_handshake_error_report', 'tcp_handshake_set_state', 'tcp_handshake_destroy', 'tcp_handshake_connect_enter', 'tcp_handshake_connect_exit', 'tcp_handshake_getsockopt_enter']],
  ] as const) {
    await receiver.start({ reportFatal: (e) => assert.fail(e) });
    const metrics = receiver.collect().scopeMetrics[0].metrics;
    const missed = metrics.find((m) => m.descriptor.name === 'tcpscope.receiver.missed_runs') as SumMetricData;
    assert.deepEqual(missed.dataPoints.map((p) => p.attributes.program).sort(), [...programs].sort());
    assert.ok(missed.dataPoints.every((p) => Number.isInteger(p.value) && p.value >= 0));
    const overflow = metrics.find((m) => m.descriptor.name === 'tcpscope.receiver.overflow_updates') as SumMetricData;
    assert.equal(overflow.dataPoints.length, 1);
  }
});
