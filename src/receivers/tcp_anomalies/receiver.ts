// The tcp_anomalies receiver: retransmissions, resets with their reason, TCP drops with theirs and
// socket buffer pressure (bpf/tcp_anomalies.bpf.c) as per-cgroup counters, and tcp.reset /
// tcp.retransmit / tcp.drop events filtered in the kernel.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Attributes } from '@opentelemetry/api';
import type { BpfObject, MapEntries } from '../../bridge/bpf_object';
import type { Consumers, CreateSettings } from '../../component';
import { parseDuration } from '../../exporters/duration';
import { ConfigError } from '../../errors';
import { KernelBtf } from '../../host/kernel_btf';
import { applyKernelFeatures, runningKernelFeatures } from '../../host/kernel_features';
import { bpfObjectPath } from '../../paths';
import { ATTR } from '../../telemetry/attributes';
import { KernelReceiver, perCpuCounter, perCpuCounters } from '../common/kernel_receiver';
import { OVERFLOW_CGROUP_ID } from '../common/workload_attributes';
import { CgroupSubtreeFilter } from '../tcp_handshake/cgroup_filter';
import type { TcpAnomaliesConfig } from './config';
import { kernelReasons, type KernelReasons } from './kernel_reasons';
import { decodeAnomalyEvent } from './decoder';
import { KernelStacks } from './kernel_stacks';
import { CONSTANTS as C, EVENT_FIELDS, EVENT_SIZE, STATS_SIZE } from './layout';
import { anomalyLogRecord } from './log_records';
import { anomalyMetrics } from './metrics';
import { AnomalyRawLogRecord } from './raw_log_record';
import { anomalyStatsKey, sumAnomalyStats } from './stats';

const MAPS = {
  events: 'tcp_anomalies_events',
  stats: 'tcp_anomalies_stats',
  cgroups: 'tcp_anomalies_cgroups',
  losses: 'tcp_anomalies_losses',
  sampledOut: 'tcp_anomalies_sampled_out',
  stacks: 'tcp_anomalies_stacks',
} as const;

const PROGRAMS = { kfreeSkb: 'tcp_anomalies_kfree_skb' } as const;

/** Every kind with a kernel overflow series. */
const KINDS = [
  C.TCP_ANOMALIES_RETRANSMIT,
  C.TCP_ANOMALIES_RESET_SENT,
  C.TCP_ANOMALIES_RESET_RECEIVED,
  C.TCP_ANOMALIES_DROP,
  C.TCP_ANOMALIES_RCVQUEUE_FULL,
  C.TCP_ANOMALIES_MEMORY_LIMIT,
];

export interface TcpAnomaliesOptions {
  /** The BPF object (tests load the build without reset reasons). */
  readonly objectPath?: string;
  /** What the kernel's BTF says (tests give a kernel without some reasons). */
  readonly reasons?: KernelReasons;
}

/** Sockets the stand-in for socket storage holds on kernels without it (kernel_features.ts). */
const STAND_IN_SOCKETS = 65536;

export class TcpAnomaliesReceiver extends KernelReceiver {
  /** What this kernel gives (reasons, drop attribution), as logged at start. */
  readonly reasons: KernelReasons;

  constructor(settings: CreateSettings, config: TcpAnomaliesConfig, next: Consumers, options: TcpAnomaliesOptions = {}) {
    const reasons = options.reasons ?? KernelBtf.read(undefined, kernelReasons);
    const cgroupFilter = config.cgroup_prefix !== '';
    const dropsCounted = config.drops && reasons.dropReasons;
    let filter: CgroupSubtreeFilter | undefined;
    const stacks = config.stack_traces ? new KernelStacks(() => this.readStacks()) : undefined;
    super(settings, config, next, options.objectPath ?? bpfObjectPath('tcp_anomalies'), {
      eventsMap: MAPS.events,
      prepare(bpf: BpfObject, events: boolean) {
        bpf.setGlobalU32('cfg_events_enabled', events ? 1 : 0);
        bpf.setGlobalU32('cfg_reset_events', config.reset_events ? 1 : 0);
        bpf.setGlobalU32('cfg_retransmit_events', config.retransmit_events ? 1 : 0);
        bpf.setGlobalU32('cfg_drop_events', config.drop_events ? 1 : 0);
        const interval = Buffer.alloc(8);
        interval.writeBigUInt64LE(BigInt(parseDuration(config.event_interval)) * 1_000_000n);
        bpf.setGlobal('cfg_event_interval_ns', interval);
        bpf.setGlobalU32('cfg_port_count', config.ports.length);
        const ports = Buffer.alloc(2 * C.TCP_ANOMALIES_MAX_PORTS);
        config.ports.forEach((port, i) => ports.writeUInt16LE(port, 2 * i));
        bpf.setGlobal('cfg_ports', ports);
        bpf.setGlobalU32('cfg_cgroup_filter', cgroupFilter ? 1 : 0);
        bpf.setGlobalU32('cfg_wakeup_min_bytes', config.wakeup_min_bytes);
        bpf.setGlobalU32('cfg_stack_traces', config.stack_traces && events ? 1 : 0);
        bpf.setGlobal('cfg_drop_reasons', reasons.dropReasonTable);
        bpf.setGlobalU32('cfg_kfree_skb_rx_sk', reasons.kfreeSkbRxSk ? 1 : 0);
        // kfree_skb runs for every dropped packet of the host: loaded only when drops are counted.
        bpf.setAutoload(PROGRAMS.kfreeSkb, dropsCounted);
        // What this kernel lacks is turned off before load, one start-up line each.
        for (const line of applyKernelFeatures('tcp_anomalies', bpf, runningKernelFeatures(), STAND_IN_SOCKETS, events && config.retransmit_events ? [] : ['socket_storage'])) settings.logger.warn(line);
        bpf.setMaxEntries(MAPS.events, config.ring_buffer_size);
        bpf.setMaxEntries(MAPS.stats, config.max_series + KINDS.length);
        bpf.setMaxEntries(MAPS.cgroups, cgroupFilter ? config.max_filter_cgroups : 1);
        bpf.setMaxEntries(MAPS.stacks, config.stack_traces && events ? config.max_stacks : 1);
      },
      initialize: (bpf: BpfObject) => {
        const zero = Buffer.alloc(STATS_SIZE * bpf.possibleCpus());
        for (const kind of KINDS) bpf.updateMap(MAPS.stats, anomalyStatsKey(OVERFLOW_CGROUP_ID, kind, 0), zero);
        if (cgroupFilter) {
          const root = this.cgroups.root;
          if (!root || !existsSync(join(root, config.cgroup_prefix))) {
            throw new ConfigError(
              `receivers.${settings.id.text}.cgroup_prefix`,
              `no cgroup ${JSON.stringify(config.cgroup_prefix)} under the cgroup v2 root ${root ?? '(not mounted)'}`,
            );
          }
          filter = new CgroupSubtreeFilter(MAPS.cgroups, join(root, config.cgroup_prefix), config.max_filter_cgroups, settings.logger, `receivers.${settings.id.text}.max_filter_cgroups`);
          filter.sync(bpf);
        }
        settings.logger.info(`kernel: ${reasons.describe()}${config.drops ? '' : '; drops: off (drops: false)'}`);
        if (stacks) {
          const started = Date.now();
          const symbols = stacks.preload();
          settings.logger.info(`stack_traces: ${symbols} kernel text symbols read from /proc/kallsyms in ${Date.now() - started} ms${symbols === 0 ? ' (none readable: frames are addresses; kernel.kptr_restrict?)' : ''}`);
        }
      },
      refresh: (bpf: BpfObject) => filter?.sync(bpf),
      decodeRaw: (batch, offset, length) => {
        const stackId = length === EVENT_SIZE ? batch.bytes.readInt32LE(offset + EVENT_FIELDS.stack_id.offset) : C.TCP_ANOMALIES_NO_STACK;
        if (!stacks || stackId < 0) return AnomalyRawLogRecord.decode(batch, offset, length, reasons);
        // A string list is beyond the raw records' scalar writers: a plain record, which every
        // exporter encodes on its generic path (stacks are opt-in and rare).
        const record = anomalyLogRecord(decodeAnomalyEvent(batch.bytes, offset, length), batch.caches.context, reasons, batch.observed);
        const frames = stacks.stack(stackId, batch);
        if (frames) (record.attributes as Attributes)[ATTR.tcpStack.key] = [...frames];
        return record;
      },
      metrics: (bpf, startTime, endTime) => {
        const losses = perCpuCounters(bpf, MAPS.losses, C.TCP_ANOMALIES_LOSS_KINDS);
        return this.series.collect(
          bpf,
          MAPS.stats,
          () => sumAnomalyStats(bpf.readMap(MAPS.stats)),
          (stats) =>
            anomalyMetrics({
              stats,
              names: reasons,
              dropsCounted,
              droppedEvents: losses[C.TCP_ANOMALIES_LOSS_RINGBUF],
              sampledOutEvents: perCpuCounter(bpf, MAPS.sampledOut, 0),
              receiverId: settings.id.text,
              startTime,
              endTime,
              cgroups: this.cgroups,
              seriesStartTime: (cgroupId) => this.series.startTime(cgroupId, startTime),
            }),
        );
      },
      overflowUpdates: (bpf) => perCpuCounter(bpf, MAPS.losses, C.TCP_ANOMALIES_LOSS_STATS_FULL),
    });
    this.reasons = reasons;
  }

  private readStacks(): MapEntries {
    if (!this.bpf) throw new Error(`${this.settings.id.text} is not started`);
    return this.bpf.readMap(MAPS.stacks);
  }
}
