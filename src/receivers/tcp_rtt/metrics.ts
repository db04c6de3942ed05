// system.network.tcp.rtt.duration from the kernel histograms, as an OpenTelemetry MetricProducer
// (so it also plugs into an SDK MeterProvider's reader) and as plain metric data for the pipeline.
import { ValueType, type Attributes, type HrTime } from '@opentelemetry/api';
import type { Resource } from '@opentelemetry/resources';
import {
  AggregationTemporality,
  DataPointType,
  type CollectionResult,
  type MetricData,
  type MetricProducer,
} from '@opentelemetry/sdk-metrics';
import type { CgroupResolver } from '../../host/cgroup_resolver';
import { hrTimeNow } from '../../host/monotonic_clock';
import { ATTR } from '../../telemetry/attributes';
import { METRICS } from '../../telemetry/signals';
import { VERSION } from '../../version';
import { cgroupAttributes } from '../common/workload_attributes';
import { EXPLICIT_BOUNDARIES_S, explicitCounts, exponentialValue, type Scale } from './buckets';
import type { RttSeries } from './histograms';

export interface RttExportOptions {
  readonly scale: Scale;
  readonly histogram: 'exponential' | 'explicit';
}

export function rttAttributes(series: RttSeries, cgroups: CgroupResolver): Attributes {
  const attributes: Attributes = {};
  cgroupAttributes(cgroups, series.cgroupId, attributes);
  if (series.peer) attributes[ATTR.peerAddress.key] = series.peer.text;
  if (series.peerPort !== undefined) attributes[ATTR.peerPort.key] = series.peerPort;
  return attributes;
}

/** `seriesStartTime`: the start time of a cgroup's series when not `startTime` (removed and re-created). */
export function rttMetric(
  series: readonly RttSeries[],
  options: RttExportOptions,
  cgroups: CgroupResolver,
  startTime: HrTime,
  endTime: HrTime,
  seriesStartTime: (cgroupId: bigint) => HrTime = () => startTime,
): MetricData {
  const def = METRICS.rttDuration;
  const descriptor = { name: def.name, description: def.description, unit: def.unit, valueType: ValueType.DOUBLE };
  if (options.histogram === 'explicit') {
    return {
      descriptor,
      aggregationTemporality: AggregationTemporality.CUMULATIVE,
      dataPointType: DataPointType.HISTOGRAM,
      dataPoints: series.map((s) => ({
        startTime: seriesStartTime(s.cgroupId),
        endTime,
        attributes: rttAttributes(s, cgroups),
        value: {
          buckets: { boundaries: [...EXPLICIT_BOUNDARIES_S], counts: explicitCounts(s.buckets) },
          sum: Number(s.sumUs) / 1e6,
          count: Number(s.count),
          min: Number(s.minUs) / 1e6,
          max: Number(s.maxUs) / 1e6,
        },
      })),
    };
  }
  return {
    descriptor,
    aggregationTemporality: AggregationTemporality.CUMULATIVE,
    dataPointType: DataPointType.EXPONENTIAL_HISTOGRAM,
    dataPoints: series.map((s) => ({
      startTime: seriesStartTime(s.cgroupId),
      endTime,
      attributes: rttAttributes(s, cgroups),
      value: exponentialValue(s.buckets, options.scale, s.count, s.sumUs, s.minUs, s.maxUs),
    })),
  };
}

/** An OpenTelemetry MetricProducer over a source of kernel series. */
export class RttMetricProducer implements MetricProducer {
  constructor(
    private readonly readSeries: () => readonly RttSeries[],
    private readonly options: RttExportOptions,
    private readonly cgroups: CgroupResolver,
    private readonly resource: Resource,
    private readonly startTime: () => HrTime,
    private readonly seriesStartTime?: (cgroupId: bigint, receiverStart: HrTime) => HrTime,
  ) {}

  metricData(): MetricData {
    const start = this.startTime();
    const seriesStart = this.seriesStartTime;
    return rttMetric(this.readSeries(), this.options, this.cgroups, start, hrTimeNow(), seriesStart && ((id) => seriesStart(id, start)));
  }

  async collect(): Promise<CollectionResult> {
    return {
      resourceMetrics: { resource: this.resource, scopeMetrics: [{ scope: { name: 'tcpscope/receiver/tcp_rtt', version: VERSION }, metrics: [this.metricData()] }] },
      errors: [],
    };
  }
}
