// The setup the kernel tests of one receiver share: a test cgroup for the processes whose
// traffic is asserted on, the receiver with recording consumers, and a cleanup that runs also
// when the test fails half-way.
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import type { MetricData, SumMetricData } from '@opentelemetry/sdk-metrics';
import type { KernelReceiver } from '../../src/receivers/common/kernel_receiver';
import { TestCgroup, testCgroupBase } from './cgroup';
import type { RunningChild } from './child';
import { RecordingLogsConsumer, RecordingMetricsConsumer } from './recording_consumer';

export interface ReceiverInCgroup<R extends KernelReceiver> {
  readonly receiver: R;
  /** `<testCgroupBase(kind)>/<leaf>`: the processes of the test. */
  readonly cgroup: TestCgroup;
  /** Processes of the test: killed on cleanup. */
  readonly children: RunningChild[];
  readonly logs: RecordingLogsConsumer;
}

/**
 * Creates the cgroup, builds the receiver with `create` (given recording consumers) and starts it;
 * on cleanup kills the children, shuts the receiver down and removes the cgroup. A failure after
 * start is a test failure.
 */
export async function startReceiverInCgroup<R extends KernelReceiver>(
  t: TestContext,
  kind: string,
  leaf: string,
  create: (consumers: { logs: RecordingLogsConsumer; metrics: RecordingMetricsConsumer }) => R,
): Promise<ReceiverInCgroup<R>> {
  const base = testCgroupBase(kind);
  const cgroup = TestCgroup.create(`${base}/${leaf}`);
  const children: RunningChild[] = [];
  const logs = new RecordingLogsConsumer();
  let receiver: R;
  try {
    receiver = create({ logs, metrics: new RecordingMetricsConsumer() });
  } catch (error) {
    cgroup.remove(base);
    throw error;
  }
  t.after(async () => {
    for (const c of children) c.kill();
    try {
      await receiver.shutdown();
    } finally {
      cgroup.remove(base);
    }
  });
  await receiver.start({ reportFatal: (e) => assert.fail(e) });
  return { receiver, cgroup, children, logs };
}

/** The value of tcpscope.receiver.dropped_events for `reason` (the point must be there). */
export function droppedEvents(metrics: readonly MetricData[], reason: string): number {
  const metric = metrics.find((m) => m.descriptor.name === 'tcpscope.receiver.dropped_events') as SumMetricData;
  const point = metric.dataPoints.find((p) => p.attributes.reason === reason);
  assert.ok(point, `a dropped_events point with reason=${reason}`);
  return point.value;
}
