// The tcp_rtt receiver: per-cgroup (optionally per-peer) RTT histograms kept in the kernel by
// bpf/tcp_rtt.bpf.c, exported every collection_interval as system.network.tcp.rtt.duration.
import type { BpfObject } from '../../bridge/bpf_object';
import type { Consumers, CreateSettings } from '../../component';
import { parseDuration } from '../../exporters/duration';
import { bpfObjectPath } from '../../paths';
import { KernelReceiver, perCpuCounter } from '../shared/kernel_receiver';
import { OVERFLOW_CGROUP_ID } from '../shared/workload_attributes';
import { kernelBucketUpperBoundsUs, type Scale } from './buckets';
import type { TcpRttConfig } from './config';
import { readRttSeries, type RttSeries } from './histograms';
import { CONSTANTS, HISTOGRAM_SIZE, KEY_SIZE } from './layout';
import { RttMetricProducer, rttMetric } from './metrics';

const MAPS = { histograms: 'tcp_rtt_histograms', lastSample: 'tcp_rtt_last_sample', drops: 'tcp_rtt_drops' } as const;

export class TcpRttReceiver extends KernelReceiver {
  constructor(settings: CreateSettings, private readonly rttConfig: TcpRttConfig, next: Consumers, objectPath = bpfObjectPath('tcp_rtt')) {
    const options = { scale: rttConfig.scale as Scale, histogram: rttConfig.histogram };
    super(settings, rttConfig, next, objectPath, {
      prepare(bpf: BpfObject) {
        bpf.setGlobalU64('cfg_sample_interval_ns', BigInt(Math.round(parseDuration(rttConfig.sample_interval) * 1e6)));
        bpf.setGlobalU32('cfg_group_peer_address', rttConfig.group_by.includes('peer_address') ? 1 : 0);
        bpf.setGlobalU32('cfg_group_peer_port', rttConfig.group_by.includes('peer_port') ? 1 : 0);
        const upper = kernelBucketUpperBoundsUs();
        const table = Buffer.alloc(8 * upper.length);
        upper.forEach((u, i) => table.writeBigUInt64LE(u, 8 * i));
        bpf.setGlobal('cfg_bucket_upper_us', table);
        // +1: the overflow series always has its slot
        bpf.setMaxEntries(MAPS.histograms, rttConfig.max_series + 1);
      },
      initialize: (bpf: BpfObject) => {
        const overflow = Buffer.alloc(KEY_SIZE);
        overflow.writeBigUInt64LE(OVERFLOW_CGROUP_ID, 0);
        bpf.updateMap(MAPS.histograms, overflow, Buffer.alloc(HISTOGRAM_SIZE * bpf.possibleCpus()));
      },
      metrics: (bpf, startTime, endTime) => {
        const series = readRttSeries(bpf.readMap(MAPS.histograms));
        const metric = rttMetric(series, options, this.cgroups, startTime, endTime);
        this.forgetVanishedCgroups(bpf, series);
        return [metric];
      },
      overflowUpdates: (bpf) => perCpuCounter(bpf, MAPS.drops, CONSTANTS.TCP_RTT_DROP_STATS_FULL),
    });
  }

  /**
   * Series of cgroups that no longer exist are removed from the kernel map once exported (their
   * last data point went out above). cgroup ids are 64-bit kernfs ids, not reused while the
   * system runs, so a new cgroup never inherits an old one's histogram.
   */
  private forgetVanishedCgroups(bpf: BpfObject, series: readonly RttSeries[]): void {
    for (const s of series) {
      if (s.cgroupId !== OVERFLOW_CGROUP_ID && this.cgroups.isGone(s.cgroupId)) bpf.deleteFromMap(MAPS.histograms, s.key);
    }
  }

  /** The histograms as an OpenTelemetry MetricProducer, for an SDK MeterProvider's reader. */
  metricProducer(): RttMetricProducer {
    return new RttMetricProducer(
      () => (this.bpf ? readRttSeries(this.bpf.readMap(MAPS.histograms)) : []),
      { scale: this.rttConfig.scale as Scale, histogram: this.rttConfig.histogram },
      this.cgroups,
      this.settings.resource,
      () => this.startTime,
    );
  }
}
