// Reads tcpscope.receiver.missed_runs from a receiver's collected metrics: the runs the kernel
// skipped (bpf_prog_info.recursion_misses). Kernel tests that count samples or events per program
// run assert against samples + missed runs, since a skipped run is a sample that cannot exist.
import type { MetricData, SumMetricData } from '@opentelemetry/sdk-metrics';

export function missedRuns(metrics: readonly MetricData[], program: string): number {
  const metric = metrics.find((m) => m.descriptor.name === 'tcpscope.receiver.missed_runs') as SumMetricData | undefined;
  if (!metric) throw new Error('no tcpscope.receiver.missed_runs in the collected metrics');
  const point = metric.dataPoints.find((p) => p.attributes.program === program);
  if (!point) throw new Error(`no missed_runs data point for program ${program}`);
  return point.value;
}

/** All of a receiver's missed runs, every program together. */
export function totalMissedRuns(metrics: readonly MetricData[]): number {
  const metric = metrics.find((m) => m.descriptor.name === 'tcpscope.receiver.missed_runs') as SumMetricData | undefined;
  if (!metric) throw new Error('no tcpscope.receiver.missed_runs in the collected metrics');
  return metric.dataPoints.reduce((sum, p) => sum + p.value, 0);
}
