// The tcp_rtt receiver: per-cgroup (optionally per-peer) RTT histograms kept in the kernel by
// bpf/tcp_rtt.bpf.c, exported every collection_interval as system.network.tcp.rtt.duration.
import type { BpfObject } from '../../bridge/bpf_object';
import { applyKernelFeatures, runningKernelFeatures } from '../../host/kernel_features';
import type { Consumers, CreateSettings } from '../../component';
import { parseDuration } from '../../exporters/duration';
import { bpfObjectPath } from '../../paths';
import { KernelReceiver, perCpuCounter } from '../common/kernel_receiver';
import { OVERFLOW_CGROUP_ID } from '../common/workload_attributes';
import { kernelBucketUpperBoundsUs, type Scale } from './buckets';
import type { TcpRttConfig } from './config';
import { readRttSeries } from './histograms';
import { CONSTANTS, HISTOGRAM_SIZE, KEY_SIZE } from './layout';
import { RttMetricProducer, rttMetric } from './metrics';

const MAPS = { histograms: 'tcp_rtt_histograms', sockets: 'tcp_rtt_sockets', drops: 'tcp_rtt_drops' } as const;

/** Sockets the stand-in for socket storage holds on kernels without it (kernel_features.ts). */
const STAND_IN_SOCKETS = 65536;

export class TcpRttReceiver extends KernelReceiver {
  constructor(settings: CreateSettings, private readonly rttConfig: TcpRttConfig, next: Consumers, objectPath = bpfObjectPath('tcp_rtt')) {
    const options = { scale: rttConfig.scale as Scale, histogram: rttConfig.histogram };
    super(settings, rttConfig, next, objectPath, {
      prepare(bpf: BpfObject) {
        const intervalNs = BigInt(Math.round(parseDuration(rttConfig.sample_interval) * 1e6));
        const sampled = intervalNs > 0n; // per-socket state (socket storage) only with an interval
        bpf.setGlobalU64('cfg_sample_interval_ns', intervalNs);
        bpf.setGlobalU32('cfg_group_peer_address', rttConfig.group_by.includes('peer_address') ? 1 : 0);
        bpf.setGlobalU32('cfg_group_peer_port', rttConfig.group_by.includes('peer_port') ? 1 : 0);
        const upper = kernelBucketUpperBoundsUs();
        const table = Buffer.alloc(8 * upper.length);
        upper.forEach((u, i) => table.writeBigUInt64LE(u, 8 * i));
        bpf.setGlobal('cfg_bucket_upper_us', table);
        // +1: the overflow series always has its slot
        bpf.setMaxEntries(MAPS.histograms, rttConfig.max_series + 1);
        // What this kernel lacks is turned off before load, one start-up line each.
        for (const line of applyKernelFeatures('tcp_rtt', bpf, runningKernelFeatures(), STAND_IN_SOCKETS, sampled ? [] : ['socket_storage'])) settings.logger.warn(line);
      },
      initialize: (bpf: BpfObject) => {
        const overflow = Buffer.alloc(KEY_SIZE);
        overflow.writeBigUInt64LE(OVERFLOW_CGROUP_ID, 0);
        bpf.updateMap(MAPS.histograms, overflow, Buffer.alloc(HISTOGRAM_SIZE * bpf.possibleCpus()));
      },
      // No open-connection count here: a socket that outlives its cgroup re-creates its series
      // with its next sample, with a new start time (see CgroupSeriesReaper).
      metrics: (bpf, startTime, endTime) =>
        this.series.collect(
          bpf,
          MAPS.histograms,
          () => readRttSeries(bpf.readMap(MAPS.histograms)),
          (series) => [rttMetric(series, options, this.cgroups, startTime, endTime, (cgroupId) => this.series.startTime(cgroupId, startTime))],
        ),
      overflowUpdates: (bpf) => perCpuCounter(bpf, MAPS.drops, CONSTANTS.TCP_RTT_DROP_STATS_FULL),
    });
  }

  /** The histograms as an OpenTelemetry MetricProducer, for an SDK MeterProvider's reader. */
  metricProducer(): RttMetricProducer {
    return new RttMetricProducer(
      () => (this.bpf ? readRttSeries(this.bpf.readMap(MAPS.histograms)) : []),
      { scale: this.rttConfig.scale as Scale, histogram: this.rttConfig.histogram },
      this.cgroups,
      this.settings.resource,
      () => this.startTime,
      (cgroupId, receiverStart) => this.series.startTime(cgroupId, receiverStart),
    );
  }
}
