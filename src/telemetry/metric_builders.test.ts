// Every metric builder's output against its definition in src/telemetry/signals.ts, the source of
// docs/telemetry.md: the name is defined, the instrument and unit are the defined ones, and every
// data point carries only attributes the definition lists. The builders are fed synthetic kernel
// maps (per-CPU values laid out as bpf/*.h lays them out, through the same readers the receivers
// use), so no kernel is needed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { HrTime } from '@opentelemetry/api';
import { DataPointType, type HistogramMetricData, type MetricData, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import type { MapEntries } from '../bridge/bpf_object';
import type { Consumer, Exporter } from '../component';
import type { DropCounting } from '../exporters/dropped_items';
import type { ReportsQueueSize } from '../exporters/queue_size';
import { CgroupResolver } from '../host/cgroup_resolver';
import { AgentProcessMetricsAppender } from '../pipeline/agent_process_metrics';
import { EventDelayAppender, EventDelays } from '../pipeline/event_delay';
import { AGENT_SCOPE, ExporterDropsAppender } from '../pipeline/exporter_drops';
import { DURATION_BUCKETS } from '../receivers/common/duration_buckets';
import { DROP_REASONS } from '../receivers/common/event_counters';
import { lossCounterMetrics } from '../receivers/common/loss_counters';
import { OVERFLOW_CGROUP_ID } from '../receivers/common/workload_attributes';
import { anomalyMetrics } from '../receivers/tcp_anomalies/metrics';
import * as anomaliesLayout from '../receivers/tcp_anomalies/layout';
import { sumAnomalyStats } from '../receivers/tcp_anomalies/stats';
import { handshakeMetrics } from '../receivers/tcp_handshake/metrics';
import * as handshakeLayout from '../receivers/tcp_handshake/layout';
import { sumHandshakeStats } from '../receivers/tcp_handshake/stats';
import { lifecycleMetrics } from '../receivers/tcp_lifecycle/metrics';
import * as lifecycleLayout from '../receivers/tcp_lifecycle/layout';
import { sumWorkloadStats } from '../receivers/tcp_lifecycle/stats';
import { kernelBucketOf, SUPPORTED_SCALES } from '../receivers/tcp_rtt/buckets';
import * as rttLayout from '../receivers/tcp_rtt/layout';
import { readRttSeries } from '../receivers/tcp_rtt/histograms';
import { rttMetric } from '../receivers/tcp_rtt/metrics';
import { captureMetrics } from '../receivers/packet_capture/metrics';
import { agentResource } from '../resource';
import { ATTR } from './attributes';
import { METRICS, type InstrumentKind, type MetricDefinition } from './signals';

const START: HrTime = [1_700_000_000, 0];
const END: HrTime = [1_700_000_010, 0];
const CPUS = 2;
const KNOWN_CGROUP = 4242n;
const VANISHED_CGROUP = 777n;

/** Knows one cgroup; every other id is one that no longer exists. */
class OneCgroupResolver extends CgroupResolver {
  constructor() {
    super('/nonexistent-cgroup-root');
  }
  override resolve(id: bigint): string | undefined {
    return id === KNOWN_CGROUP ? '/test.slice/app.scope' : undefined;
  }
}

interface KernelEntry {
  readonly key: Buffer;
  /** One value per CPU. */
  readonly values: readonly Buffer[];
}

/** A per-CPU map dump, as BpfObject.readMap returns it. */
function perCpuMap(keySize: number, valueSize: number, entries: readonly KernelEntry[]): MapEntries {
  return {
    count: entries.length,
    keySize,
    valueSize,
    cpus: CPUS,
    keys: Buffer.concat(entries.map((e) => e.key)),
    values: Buffer.concat(entries.flatMap((e) => e.values)),
    key: (i) => entries[i].key,
    value: (i, cpu = 0) => entries[i].values[cpu],
  };
}

function u64(buffer: Buffer, offset: number, value: bigint): void {
  buffer.writeBigUInt64LE(value, offset);
}

// --- conformance -------------------------------------------------------------------------

const DEFINITIONS = new Map<string, MetricDefinition>(Object.values(METRICS).map((d) => [d.name, d]));

function instrumentOf(metric: MetricData): InstrumentKind | string {
  switch (metric.dataPointType) {
    case DataPointType.HISTOGRAM:
    case DataPointType.EXPONENTIAL_HISTOGRAM:
      return 'histogram';
    case DataPointType.SUM:
      return metric.isMonotonic ? 'counter' : 'updowncounter';
    case DataPointType.GAUGE:
      return 'gauge';
  }
}

/** Every metric name some builder in this file produced, for the completeness check at the end. */
const BUILT = new Set<string>();

/** Asserts that `metrics` match their definitions; `emitter` must be listed in emittedBy. */
function assertDefined(metrics: readonly MetricData[], emitter: string | undefined): void {
  assert.ok(metrics.length > 0, 'the builder produced metrics');
  for (const metric of metrics) {
    const name = metric.descriptor.name;
    BUILT.add(name);
    const def = DEFINITIONS.get(name);
    assert.ok(def, `${name} is defined in src/telemetry/signals.ts`);
    assert.equal(instrumentOf(metric), def.instrument, `${name}: instrument`);
    assert.equal(metric.descriptor.unit, def.unit, `${name}: unit`);
    assert.equal(metric.descriptor.description, def.description, `${name}: description`);
    if (emitter !== undefined) assert.ok(def.emittedBy.includes(emitter), `${name}: emittedBy lists ${emitter}`);
    assert.ok(metric.dataPoints.length > 0, `${name}: the synthetic kernel data gives it data points`);
    const allowed = new Set(def.attributes.map((a) => a.key));
    for (const point of metric.dataPoints) {
      const extra = Object.keys(point.attributes).filter((key) => !allowed.has(key));
      assert.deepEqual(extra, [], `${name}: attributes not in its definition`);
      assertConsistentValue(name, metric.dataPointType, point.value);
    }
  }
}

/** The value invariants OTLP states for each point type (a backend rejects or misreads the rest). */
function assertConsistentValue(name: string, type: DataPointType, value: unknown): void {
  if (type === DataPointType.HISTOGRAM) {
    const h = value as { count: number; buckets: { boundaries: number[]; counts: number[] } };
    assert.equal(h.buckets.counts.length, h.buckets.boundaries.length + 1, `${name}: one more count than boundaries`);
    assert.equal(h.buckets.counts.reduce((a, b) => a + b, 0), h.count, `${name}: bucket counts add up to count`);
  } else if (type === DataPointType.EXPONENTIAL_HISTOGRAM) {
    const e = value as { count: number; zeroCount: number; positive: { bucketCounts: number[] }; negative: { bucketCounts: number[] } };
    const total = e.zeroCount + [...e.positive.bucketCounts, ...e.negative.bucketCounts].reduce((a, b) => a + b, 0);
    assert.equal(total, e.count, `${name}: bucket counts add up to count`);
  } else {
    assert.ok(Number.isFinite(value as number), `${name}: a finite number`);
  }
}

function pointsOf(metrics: readonly MetricData[], name: string) {
  const metric = metrics.find((m) => m.descriptor.name === name);
  assert.ok(metric, name);
  return metric.dataPoints;
}

// --- tcp_lifecycle -----------------------------------------------------------------------

function lifecycleEntry(cgroupId: bigint, role: number, cpu0: { established: bigint; closed: bigint; bucket: number }): KernelEntry {
  const { STATS_KEY_FIELDS: K, STATS_FIELDS: F, STATS_KEY_SIZE, STATS_SIZE } = lifecycleLayout;
  const key = Buffer.alloc(STATS_KEY_SIZE);
  u64(key, K.cgroup_id.offset, cgroupId);
  key.writeUInt32LE(role, K.role.offset);
  // One series per (cgroup, role) here, with the closes' end (the kernel counts opens in end 0:
  // the open count sums the ends of a (cgroup, role), so one series or several give the same).
  key.writeUInt32LE(lifecycleLayout.CONSTANTS.TCP_LIFECYCLE_END_FIN, K.end.offset);
  const values = [0, 1].map((cpu) => {
    const v = Buffer.alloc(STATS_SIZE);
    // CPU 0 carries the opens and closes; CPU 1 a close of a connection opened on CPU 0, so its
    // `established` is negative: only the sum over CPUs means anything.
    const established = cpu === 0 ? cpu0.established : -1n;
    const closed = cpu === 0 ? cpu0.closed : 1n;
    v.writeBigInt64LE(established, F.established.offset);
    u64(v, F.closed.offset, closed);
    u64(v, F.duration_sum_ns.offset, closed * 1_500_000n);
    u64(v, F.bytes_sent.offset, closed * 1000n);
    u64(v, F.bytes_received.offset, closed * 2000n);
    u64(v, F.duration_buckets.offset + 8 * (cpu === 0 ? cpu0.bucket : DURATION_BUCKETS - 1), closed);
    return v;
  });
  return { key, values };
}

test('tcp_lifecycle metrics match their definitions', () => {
  const { CLIENT, SERVER } = { CLIENT: lifecycleLayout.CONSTANTS.TCP_LIFECYCLE_ROLE_CLIENT, SERVER: lifecycleLayout.CONSTANTS.TCP_LIFECYCLE_ROLE_SERVER };
  const map = perCpuMap(lifecycleLayout.STATS_KEY_SIZE, lifecycleLayout.STATS_SIZE, [
    lifecycleEntry(KNOWN_CGROUP, CLIENT, { established: 5n, closed: 3n, bucket: 11 }),
    lifecycleEntry(VANISHED_CGROUP, SERVER, { established: 2n, closed: 1n, bucket: 0 }),
    lifecycleEntry(OVERFLOW_CGROUP_ID, CLIENT, { established: 1n, closed: 0n, bucket: 20 }),
  ]);
  const metrics = lifecycleMetrics({
    stats: sumWorkloadStats(map),
    droppedEvents: 7n,
    untrackedEvents: { reason: DROP_REASONS.connectionUntracked, count: 5n },
    sampledOutEvents: 9n,
    receiverId: 'tcp_lifecycle/test',
    startTime: START,
    endTime: END,
    cgroups: new OneCgroupResolver(),
  });
  assertDefined(metrics, 'tcp_lifecycle');

  // And the numbers are the kernel's, summed over CPUs.
  const open = pointsOf(metrics, METRICS.connectionCount.name).map((p) => p.value);
  assert.deepEqual(open, [4, 1, 0]);
  const io = pointsOf(metrics, METRICS.io.name).map((p) => [p.attributes[ATTR.ioDirection.key], p.value]);
  assert.deepEqual(io, [
    ['transmit', 4000],
    ['receive', 8000],
    ['transmit', 2000],
    ['receive', 4000],
    ['transmit', 1000],
    ['receive', 2000],
  ]);
  assert.deepEqual(
    pointsOf(metrics, METRICS.droppedEvents.name).map((p) => [p.attributes[ATTR.dropReason.key], p.value]),
    [[DROP_REASONS.ringBufferFull, 7], [DROP_REASONS.connectionUntracked, 5]],
  );
  assert.deepEqual(pointsOf(metrics, METRICS.sampledOutEvents.name).map((p) => p.value), [9]);
});

// --- tcp_handshake -----------------------------------------------------------------------

function handshakeEntry(cgroupId: bigint, role: number, error: number, count: bigint): KernelEntry {
  const { STATS_KEY_FIELDS: K, STATS_FIELDS: F, STATS_KEY_SIZE, STATS_SIZE } = handshakeLayout;
  const key = Buffer.alloc(STATS_KEY_SIZE);
  u64(key, K.cgroup_id.offset, cgroupId);
  key.writeUInt32LE(role, K.role.offset);
  key.writeUInt32LE(error, K.error.offset);
  const values = [0, 1].map((cpu) => {
    const v = Buffer.alloc(STATS_SIZE);
    const n = cpu === 0 ? count : 1n;
    u64(v, F.count.offset, n);
    u64(v, F.duration_sum_ns.offset, n * 250_000n);
    u64(v, F.duration_buckets.offset + 8 * 8, n);
    return v;
  });
  return { key, values };
}

test('tcp_handshake metrics match their definitions', () => {
  const { TCP_HANDSHAKE_ROLE_CLIENT: CLIENT, TCP_HANDSHAKE_ROLE_SERVER: SERVER } = handshakeLayout.CONSTANTS;
  const ECONNREFUSED = 111;
  const map = perCpuMap(handshakeLayout.STATS_KEY_SIZE, handshakeLayout.STATS_SIZE, [
    handshakeEntry(KNOWN_CGROUP, CLIENT, 0, 4n),
    handshakeEntry(KNOWN_CGROUP, CLIENT, ECONNREFUSED, 2n),
    handshakeEntry(VANISHED_CGROUP, SERVER, 0, 1n),
    handshakeEntry(OVERFLOW_CGROUP_ID, CLIENT, 0, 3n),
  ]);
  const metrics = handshakeMetrics({
    stats: sumHandshakeStats(map),
    droppedEvents: 0n,
    sampledOutEvents: 0n,
    receiverId: 'tcp_handshake',
    startTime: START,
    endTime: END,
    cgroups: new OneCgroupResolver(),
  });
  assertDefined(metrics, 'tcp_handshake');
  const points = pointsOf(metrics, METRICS.handshakeDuration.name);
  assert.deepEqual(
    points.map((p) => [p.attributes[ATTR.errorType.key], (p.value as { count: number }).count]),
    [[undefined, 5], ['ECONNREFUSED', 3], [undefined, 2], [undefined, 4]],
  );
});

// --- tcp_anomalies -----------------------------------------------------------------------

function anomalyEntry(cgroupId: bigint, kind: number, reason: number, perCpu: readonly [bigint, bigint]): KernelEntry {
  const { STATS_KEY_FIELDS: K, STATS_KEY_SIZE, STATS_SIZE } = anomaliesLayout;
  const key = Buffer.alloc(STATS_KEY_SIZE);
  u64(key, K.cgroup_id.offset, cgroupId);
  key.writeUInt32LE(kind, K.kind.offset);
  key.writeUInt32LE(reason, K.reason.offset);
  return { key, values: perCpu.map((n) => {
    const v = Buffer.alloc(STATS_SIZE);
    u64(v, 0, n);
    return v;
  }) };
}

test('tcp_anomalies metrics match their definitions', () => {
  const C = anomaliesLayout.CONSTANTS;
  const map = perCpuMap(anomaliesLayout.STATS_KEY_SIZE, anomaliesLayout.STATS_SIZE, [
    anomalyEntry(KNOWN_CGROUP, C.TCP_ANOMALIES_RETRANSMIT, (C.TCP_ANOMALIES_RETRANSMIT_DATA << 8) | C.TCP_ANOMALIES_TRIGGER_TLP, [2n, 1n]),
    anomalyEntry(KNOWN_CGROUP, C.TCP_ANOMALIES_RESET_SENT, 1, [1n, 0n]),
    anomalyEntry(0n, C.TCP_ANOMALIES_RESET_SENT, 1, [0n, 4n]),
    anomalyEntry(VANISHED_CGROUP, C.TCP_ANOMALIES_RESET_RECEIVED, C.TCP_ANOMALIES_REASON_UNKNOWN, [1n, 1n]),
    anomalyEntry(0n, C.TCP_ANOMALIES_DROP, 3, [5n, 0n]),
    anomalyEntry(KNOWN_CGROUP, C.TCP_ANOMALIES_MEMORY_LIMIT, 1, [1n, 0n]),
    anomalyEntry(KNOWN_CGROUP, C.TCP_ANOMALIES_RCVQUEUE_FULL, 0, [0n, 1n]),
    anomalyEntry(OVERFLOW_CGROUP_ID, C.TCP_ANOMALIES_RESET_SENT, 0, [1n, 0n]),
    anomalyEntry(OVERFLOW_CGROUP_ID, C.TCP_ANOMALIES_RESET_RECEIVED, 0, [0n, 2n]),
    anomalyEntry(OVERFLOW_CGROUP_ID, C.TCP_ANOMALIES_DROP, 0, [0n, 0n]),
  ]);
  const metrics = anomalyMetrics({
    stats: sumAnomalyStats(map),
    names: { resetReasonName: (v) => (v === 1 ? 'NO_SOCKET' : 'unknown'), dropReasonName: (v) => (v === 3 ? 'NO_SOCKET' : 'unknown') },
    dropsCounted: true,
    droppedEvents: 0n,
    sampledOutEvents: 0n,
    receiverId: 'tcp_anomalies',
    startTime: START,
    endTime: END,
    cgroups: new OneCgroupResolver(),
  });
  assertDefined(metrics, 'tcp_anomalies');
  assert.deepEqual(pointsOf(metrics, METRICS.retransmits.name).map((p) => [p.attributes[ATTR.tcpRetransmitTrigger.key], p.value]), [['tlp', 3]]);
  assert.deepEqual(
    pointsOf(metrics, METRICS.resets.name).map((p) => [p.attributes[ATTR.ioDirection.key], p.attributes[ATTR.tcpResetReason.key], p.attributes[ATTR.processLinuxCgroup.key], p.attributes[ATTR.overflow.key], p.value]),
    [
      ['transmit', 'NO_SOCKET', '0::/test.slice/app.scope', undefined, 1],
      ['transmit', 'NO_SOCKET', undefined, undefined, 4],
      ['receive', undefined, undefined, undefined, 2],
      [undefined, undefined, undefined, true, 3],
    ],
    'the host series has no cgroup; the two reset kinds\' overflow series are one point',
  );
  assert.deepEqual(pointsOf(metrics, METRICS.drops.name).map((p) => [p.attributes[ATTR.tcpDropReason.key], p.value]), [['NO_SOCKET', 5]]);
  assert.deepEqual(
    pointsOf(metrics, METRICS.bufferPressure.name).map((p) => [p.attributes[ATTR.tcpBufferPressureKind.key], p.value]),
    [['memory_limit_receive', 1], ['receive_queue_full', 1]],
  );
});

// --- tcp_rtt -----------------------------------------------------------------------------

function rttEntry(cgroupId: bigint, peer: { family: number; addr: Buffer; port: number } | undefined, rttsUs: readonly bigint[]): KernelEntry {
  const { KEY_FIELDS: K, HISTOGRAM_FIELDS: H, KEY_SIZE, HISTOGRAM_SIZE } = rttLayout;
  const key = Buffer.alloc(KEY_SIZE);
  u64(key, K.cgroup_id.offset, cgroupId);
  if (peer) {
    peer.addr.copy(key, K.peer_addr.offset);
    key.writeUInt16LE(peer.port, K.peer_port.offset);
    key.writeUInt16LE(peer.family, K.family.offset);
  }
  // Each sample on its own CPU, alternating, as the per-CPU map would hold them.
  const values = [0, 1].map((cpu) => {
    const v = Buffer.alloc(HISTOGRAM_SIZE);
    const mine = rttsUs.filter((_, i) => i % CPUS === cpu);
    if (mine.length === 0) return v;
    u64(v, H.count.offset, BigInt(mine.length));
    u64(v, H.sum_us.offset, mine.reduce((a, b) => a + b, 0n));
    u64(v, H.min_us.offset, mine.reduce((a, b) => (b < a ? b : a)));
    u64(v, H.max_us.offset, mine.reduce((a, b) => (b > a ? b : a)));
    for (const us of mine) {
      const offset = H.buckets.offset + 8 * kernelBucketOf(us);
      u64(v, offset, v.readBigUInt64LE(offset) + 1n);
    }
    return v;
  });
  return { key, values };
}

test('tcp_rtt metrics match their definitions, at every scale and as explicit buckets', () => {
  const AF_INET = 2;
  const AF_INET6 = 10;
  const v4 = Buffer.alloc(16);
  Buffer.from([198, 18, 0, 1]).copy(v4);
  const v6 = Buffer.from('fd000000000000000000000000000001', 'hex');
  const map = perCpuMap(rttLayout.KEY_SIZE, rttLayout.HISTOGRAM_SIZE, [
    rttEntry(KNOWN_CGROUP, undefined, [120n, 350n, 1_000n]),
    rttEntry(KNOWN_CGROUP, { family: AF_INET, addr: v4, port: 8080 }, [40n]),
    rttEntry(VANISHED_CGROUP, { family: AF_INET6, addr: v6, port: 443 }, [2_000_000n, 5n]),
    rttEntry(OVERFLOW_CGROUP_ID, undefined, [77n]),
  ]);
  const series = readRttSeries(map);
  assert.equal(series.length, 4);
  for (const histogram of ['exponential', 'explicit'] as const) {
    for (const scale of SUPPORTED_SCALES) {
      assertDefined([rttMetric(series, { scale, histogram }, new OneCgroupResolver(), START, END)], 'tcp_rtt');
    }
  }
  const peers = rttMetric(series, { scale: 3, histogram: 'exponential' }, new OneCgroupResolver(), START, END).dataPoints.map((p) => [
    p.attributes[ATTR.peerAddress.key],
    p.attributes[ATTR.peerPort.key],
  ]);
  assert.deepEqual(peers, [[undefined, undefined], ['198.18.0.1', 8080], ['fd00::1', 443], [undefined, undefined]]);
});

// --- the agent's exporter drops --------------------------------------------------------

test('tcpscope.exporter.dropped_items matches its definition', async () => {
  const exporter = {
    consumers: {},
    start: async () => undefined,
    shutdown: async () => undefined,
    forceFlush: async () => undefined,
    droppedItems: () => ({ metrics: 3, logs: 12 }),
  } satisfies Exporter & { droppedItems(): { metrics: number; logs: number } };
  const seen: ResourceMetrics[] = [];
  const sink: Consumer<'metrics'> = { consume: async (data) => void seen.push(data) };
  const appender = new ExporterDropsAppender(new Map([['otlp/backend', exporter]]), sink);
  await appender.consume({ resource: agentResource({}), scopeMetrics: [] });
  const metrics = seen[0].scopeMetrics.flatMap((s) => s.metrics);
  assertDefined(metrics, undefined);
  assert.deepEqual(
    pointsOf(metrics, METRICS.exporterDroppedItems.name).map((p) => [p.attributes[ATTR.exporter.key], p.attributes[ATTR.signal.key], p.value]),
    [['otlp/backend', 'metrics', 3], ['otlp/backend', 'logs', 12]],
  );
});

test('the agent process metrics and exporter queue size match their definitions, in the agent scope', async () => {
  const exporter = {
    consumers: {},
    start: async () => undefined,
    shutdown: async () => undefined,
    forceFlush: async () => undefined,
    droppedItems: () => ({ metrics: 0, logs: 1 }),
    queueSizes: () => ({ metrics: 2, logs: 5 }),
  } satisfies Exporter & DropCounting & ReportsQueueSize;
  const exporters = new Map([['otlp/backend', exporter]]);
  const seen: ResourceMetrics[] = [];
  const sink: Consumer<'metrics'> = { consume: async (data) => void seen.push(data) };
  const readings = { rss: () => 73_400_320, cpuUsage: () => ({ user: 1_250_000, system: 500_000 }), startMs: 1_700_000_000_250 };
  const appender = new ExporterDropsAppender(exporters, new AgentProcessMetricsAppender(exporters, sink, readings));
  await appender.consume({ resource: agentResource({}), scopeMetrics: [] });
  // One agent scope holding the drops, then the process metrics and queue sizes.
  assert.deepEqual(seen[0].scopeMetrics.map((s) => s.scope), [AGENT_SCOPE]);
  const metrics = seen[0].scopeMetrics.flatMap((s) => s.metrics);
  assertDefined(metrics, undefined);
  assert.deepEqual(metrics.map((m) => m.descriptor.name), [
    METRICS.exporterDroppedItems.name,
    METRICS.processMemoryUsage.name,
    METRICS.processCpuTime.name,
    METRICS.exporterQueueSize.name,
  ]);
  assert.deepEqual(pointsOf(metrics, METRICS.processMemoryUsage.name).map((p) => p.value), [73_400_320]);
  assert.deepEqual(
    pointsOf(metrics, METRICS.processCpuTime.name).map((p) => [p.attributes[ATTR.cpuMode.key], p.value, p.startTime]),
    [['user', 1.25, [1_700_000_000, 250_000_000]], ['system', 0.5, [1_700_000_000, 250_000_000]]],
  );
  assert.deepEqual(
    pointsOf(metrics, METRICS.exporterQueueSize.name).map((p) => [p.attributes[ATTR.exporter.key], p.attributes[ATTR.signal.key], p.value]),
    [['otlp/backend', 'metrics', 2], ['otlp/backend', 'logs', 5]],
  );
});

test('the exporter event delay matches its definition, in the agent scope', async () => {
  const now: HrTime = [1_700_000_000, 500_000_000];
  const delays = new EventDelays(() => now, [1_700_000_000, 0]);
  await delays.meter('file/logs', { consume: async () => undefined }).consume([{ hrTime: [1_700_000_000, 480_000_000] } as unknown as ReadableLogRecord]);
  const seen: ResourceMetrics[] = [];
  await new EventDelayAppender(delays, { consume: async (data) => void seen.push(data) }).consume({ resource: agentResource({}), scopeMetrics: [] });
  assert.deepEqual(seen[0].scopeMetrics.map((s) => s.scope), [AGENT_SCOPE]);
  const metrics = seen[0].scopeMetrics.flatMap((s) => s.metrics);
  assertDefined(metrics, undefined);
  assert.deepEqual(
    (metrics[0] as HistogramMetricData).dataPoints.map((p) => [p.attributes[ATTR.exporter.key], p.value.count, p.value.max]),
    [['file/logs', 1, 0.02]],
  );
});

test('receiver loss counters match their definitions', () => {
  const metrics = lossCounterMetrics({
    receiverId: 'tcp_rtt',
    programs: [
      { program: 'tcp_rtt_probe', id: 17, runCount: 0n, runTimeNs: 0n, recursionMisses: 3n },
      { program: 'tcp_rtt_other', id: 18, runCount: 0n, runTimeNs: 0n, recursionMisses: 0n },
    ],
    overflowUpdates: 11n,
    startTime: START,
    endTime: END,
  });
  assertDefined(metrics, 'tcp_rtt');
  assert.deepEqual(
    pointsOf(metrics, METRICS.missedRuns.name).map((p) => [p.attributes[ATTR.program.key], p.value]),
    [['tcp_rtt_probe', 3], ['tcp_rtt_other', 0]],
  );
  assert.deepEqual(pointsOf(metrics, METRICS.overflowUpdates.name).map((p) => p.value), [11]);
});

test('packet_capture metrics match their definitions', () => {
  const none = { failed_connect: 0, reset: 0, retransmit_burst: 0 };
  const metrics = captureMetrics({
    receiverId: 'packet_capture',
    packets: { captured: 12, sampling: 3, rateLimit: 2, lost: 1 },
    triggers: { started: { ...none, failed_connect: 1 }, cooldown: { ...none, failed_connect: 1 }, busy: none, lost: 0, untracked: 0 },
    startTime: START,
    endTime: END,
  });
  assertDefined(metrics, 'packet_capture');
  assert.deepEqual(
    pointsOf(metrics, METRICS.capturePackets.name).map((p) => [p.attributes[ATTR.captureOutcome.key], p.value]),
    [['captured', 12], ['skipped_sampling', 3], ['skipped_rate_limit', 2], ['skipped_lost', 1]],
  );
  assert.equal(pointsOf(metrics, METRICS.captureTriggers.name).length, 9, '3 reasons x 3 outcomes, zero included');
  assert.deepEqual(captureMetrics({ receiverId: 'packet_capture', packets: { captured: 0, sampling: 0, rateLimit: 0, lost: 0 }, startTime: START, endTime: END }).map((m) => m.descriptor.name), [METRICS.capturePackets.name], 'no trigger metric without the watch');
});

// Runs last (node:test runs a file's top-level tests in order).
test('every defined metric was produced by a builder above', () => {
  const untested = Object.values(METRICS)
    .map((d) => d.name)
    .filter((name) => !BUILT.has(name));
  assert.deepEqual(untested, [], 'a metric defined in src/telemetry/signals.ts has no builder in this test: feed its builder here');
});
