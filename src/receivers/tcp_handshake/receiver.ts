// The tcp_handshake receiver: every terminal outcome of every TCP handshake (bpf/tcp_handshake.bpf.c)
// as tcp.connect / tcp.accept events, filtered in the kernel, and the handshake histogram.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { BpfObject } from '../../bridge/bpf_object';
import { applyKernelFeatures, runningKernelFeatures } from '../../host/kernel_features';
import type { Consumers, CreateSettings } from '../../component';
import { ConfigError } from '../../errors';
import { bpfObjectPath } from '../../paths';
import { DROP_REASONS } from '../common/event_counters';
import { UntrackedReport } from '../common/untracked_report';
import { KernelReceiver, perCpuCounter, perCpuCounters } from '../common/kernel_receiver';
import { OVERFLOW_CGROUP_ID } from '../common/workload_attributes';
import { CgroupSubtreeFilter } from './cgroup_filter';
import { ATTEMPT_ENTRY_BYTES, type TcpHandshakeConfig } from './config';
import { CONSTANTS, STATS_SIZE } from './layout';
import { HandshakeRawLogRecord } from './raw_log_record';
import { handshakeMetrics } from './metrics';
import { handshakeStatsKey, sumHandshakeStats } from './stats';

const MAPS = {
  events: 'tcp_handshake_events',
  attempts: 'tcp_handshake_attempts',
  stats: 'tcp_handshake_stats',
  cgroups: 'tcp_handshake_cgroups',
  drops: 'tcp_handshake_drops',
  sampledOut: 'tcp_handshake_sampled_out',
} as const;

export class TcpHandshakeReceiver extends KernelReceiver {
  constructor(settings: CreateSettings, config: TcpHandshakeConfig, next: Consumers, objectPath = bpfObjectPath('tcp_handshake')) {
    // A receiver in the same logs pipeline that reports every successful connect, or accept,
    // already (tcp_lifecycle, with their owners, as its `events` key says): then this one leaves
    // those out, one event per attempt.
    const peerReportsConnects = settings.logsPeerEvents?.has('established_connect') ?? false;
    const peerReportsAccepts = settings.logsPeerEvents?.has('established_accept') ?? false;
    const cgroupFilter = config.cgroup_prefix !== '';
    let filter: CgroupSubtreeFilter | undefined;
    const untracked = new UntrackedReport(settings.logger, settings.id.text, {
      lost: 'handshake outcome(s)',
      key: 'max_attempts',
      limit: config.max_attempts,
      exceeded: 'connects were pending at once',
      consequence: 'new ones were not followed and their outcomes are missing from system.network.tcp.handshake.duration and the events',
      reason: DROP_REASONS.attemptUntracked,
      raiseAbove: `the peak number of connects waiting for an answer (a SYN to a silent host waits up to ~2 min; ${ATTEMPT_ENTRY_BYTES} bytes of locked kernel memory each)`,
    });
    super(settings, config, next, objectPath, {
      eventsMap: MAPS.events,
      prepare(bpf: BpfObject, events: boolean) {
        bpf.setGlobalU32('cfg_events_enabled', events ? 1 : 0);
        bpf.setGlobalU32('cfg_established_connects', peerReportsConnects ? 0 : 1);
        bpf.setGlobalU32('cfg_established_accepts', peerReportsAccepts ? 0 : 1);
        bpf.setGlobalU32('cfg_connect_only', config.connect_only ? 1 : 0);
        bpf.setGlobalU32('cfg_failed_only', config.failed_only ? 1 : 0);
        bpf.setGlobalU32('cfg_port_count', config.ports.length);
        const ports = Buffer.alloc(2 * CONSTANTS.TCP_HANDSHAKE_MAX_PORTS);
        config.ports.forEach((port, i) => ports.writeUInt16LE(port, 2 * i));
        bpf.setGlobal('cfg_ports', ports);
        bpf.setGlobalU32('cfg_cgroup_filter', cgroupFilter ? 1 : 0);
        bpf.setGlobalU32('cfg_wakeup_min_bytes', config.wakeup_min_bytes);
        bpf.setMaxEntries(MAPS.events, config.ring_buffer_size);
        // Pending connects, preallocated at load (ATTEMPT_ENTRY_BYTES each).
        bpf.setMaxEntries(MAPS.attempts, config.max_attempts);
        // What this kernel lacks is turned off before load, one start-up line each.
        for (const line of applyKernelFeatures('tcp_handshake', bpf, runningKernelFeatures(), config.max_attempts)) settings.logger.warn(line);
        bpf.setMaxEntries(MAPS.stats, config.max_series + 1);
        // one entry when unused: a hash map cannot be empty
        bpf.setMaxEntries(MAPS.cgroups, cgroupFilter ? config.max_filter_cgroups : 1);
      },
      initialize: (bpf: BpfObject) => {
        bpf.updateMap(MAPS.stats, handshakeStatsKey(OVERFLOW_CGROUP_ID, 0, 0), Buffer.alloc(STATS_SIZE * bpf.possibleCpus()));
        if (cgroupFilter) {
          const root = this.cgroups.root;
          if (!root || !existsSync(join(root, config.cgroup_prefix))) {
            throw new ConfigError(
              `receivers.${settings.id.text}.cgroup_prefix`,
              `no cgroup ${JSON.stringify(config.cgroup_prefix)} under the cgroup v2 root ${root ?? '(not mounted)'}`,
            );
          }
          filter = new CgroupSubtreeFilter(
            MAPS.cgroups,
            join(root, config.cgroup_prefix),
            config.max_filter_cgroups,
            settings.logger,
            `receivers.${settings.id.text}.max_filter_cgroups`,
          );
          filter.sync(bpf);
        }
      },
      refresh: (bpf: BpfObject) => filter?.sync(bpf),
      // Records backed by the event bytes (raw_log_record.ts); handshakeLogRecord is the decoded
      // reference they are tested against.
      decodeRaw: (batch, offset, length) => HandshakeRawLogRecord.decode(batch, offset, length),
      // No open-connection count here: an attempt still in flight when its cgroup is removed
      // re-creates its series, with a new start time (see CgroupSeriesReaper).
      metrics: (bpf, startTime, endTime) => {
        const dropped = perCpuCounters(bpf, MAPS.drops, CONSTANTS.TCP_HANDSHAKE_DROP_KINDS);
        const notFollowed = dropped[CONSTANTS.TCP_HANDSHAKE_DROP_UNTRACKED];
        untracked.note(notFollowed);
        return this.series.collect(
          bpf,
          MAPS.stats,
          () => sumHandshakeStats(bpf.readMap(MAPS.stats)),
          (stats) =>
            handshakeMetrics({
              stats,
              droppedEvents: dropped[CONSTANTS.TCP_HANDSHAKE_DROP_RINGBUF],
              untrackedEvents: { reason: DROP_REASONS.attemptUntracked, count: notFollowed },
              sampledOutEvents: perCpuCounter(bpf, MAPS.sampledOut, 0),
              receiverId: settings.id.text,
              startTime,
              endTime,
              cgroups: this.cgroups,
              seriesStartTime: (cgroupId) => this.series.startTime(cgroupId, startTime),
            }),
        );
      },
      overflowUpdates: (bpf) => perCpuCounter(bpf, MAPS.drops, CONSTANTS.TCP_HANDSHAKE_DROP_STATS_FULL),
    });
  }
}
