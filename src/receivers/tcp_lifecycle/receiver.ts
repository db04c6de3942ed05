// The tcp_lifecycle receiver: bpf/tcp_lifecycle.bpf.c's events as log records, its kernel
// aggregates as metrics every collection_interval (mechanics in common/kernel_receiver.ts).
import type { BpfObject } from '../../bridge/bpf_object';
import { applyKernelFeatures, runningKernelFeatures } from '../../host/kernel_features';
import type { Consumers, CreateSettings } from '../../component';
import { bpfObjectPath } from '../../paths';
import { EVENTS } from '../../telemetry/signals';
import { DROP_REASONS } from '../common/event_counters';
import { UntrackedReport } from '../common/untracked_report';
import { KernelReceiver, perCpuCounter, perCpuCounters } from '../common/kernel_receiver';
import type { LifecycleEventName, TcpLifecycleConfig } from './config';
import { SOCKET_ENTRY_BYTES } from './config';
import { KINDS } from './decoder';
import { CONSTANTS, OVERFLOW_CGROUP_ID, STATS_SIZE } from './layout';
import { lifecycleMetrics } from './metrics';
import { LifecycleRawLogRecord } from './raw_log_record';
import { statsKey, sumWorkloadStats } from './stats';

const MAPS = {
  events: 'tcp_lifecycle_events',
  sockets: 'tcp_lifecycle_sockets',
  stats: 'tcp_lifecycle_stats',
  drops: 'tcp_lifecycle_drops',
  sampledOut: 'tcp_lifecycle_sampled_out',
} as const;

/** The kernel's cfg_event_kinds: bit 1 << TCP_LIFECYCLE_EVENT_* for each event written. */
export function eventKindBits(names: readonly LifecycleEventName[]): number {
  let bits = 0;
  for (const [kind, name] of Object.entries(KINDS)) if (names.includes(EVENTS[name].name)) bits |= 1 << Number(kind);
  return bits;
}

const ACCEPT_PROGRAMS = ['tcp_lifecycle_accept4_exit', 'tcp_lifecycle_accept_exit'] as const;

export class TcpLifecycleReceiver extends KernelReceiver {
  constructor(settings: CreateSettings, config: TcpLifecycleConfig, next: Consumers, objectPath = bpfObjectPath('tcp_lifecycle')) {
    const untracked = new UntrackedReport(settings.logger, settings.id.text, {
      lost: 'TCP socket(s)',
      key: 'max_connections',
      limit: config.max_connections,
      exceeded: 'sockets were followed at once',
      consequence: 'new ones went unseen: their events and their connection metrics are missing',
      reason: DROP_REASONS.connectionUntracked,
      raiseAbove: `the peak number of open TCP sockets (${SOCKET_ENTRY_BYTES} bytes of locked kernel memory each)`,
    });
    const drops = (bpf: BpfObject) => perCpuCounters(bpf, MAPS.drops, CONSTANTS.TCP_LIFECYCLE_DROP_KINDS);
    super(settings, config, next, objectPath, {
      eventsMap: MAPS.events,
      prepare(bpf: BpfObject, events: boolean) {
        bpf.setGlobalU32('cfg_events_enabled', events ? 1 : 0);
        bpf.setGlobalU32('cfg_wakeup_min_bytes', config.wakeup_min_bytes);
        bpf.setGlobalU32('cfg_event_kinds', eventKindBits(config.events));
        // The accept hooks only name the owner of server sockets, for tcp.accept and tcp.close
        // events. Syscall tracepoints put every syscall of every process on a slower path, so
        // runs without those events go without.
        const ownersNeeded = events && config.events.some((name) => name !== 'tcp.connect');
        for (const program of ACCEPT_PROGRAMS) bpf.setAutoload(program, ownersNeeded);
        bpf.setMaxEntries(MAPS.events, config.ring_buffer_size);
        bpf.setMaxEntries(MAPS.sockets, config.max_connections);
        // What this kernel lacks is turned off before load, one start-up line each.
        for (const line of applyKernelFeatures('tcp_lifecycle', bpf, runningKernelFeatures(), config.max_connections)) settings.logger.warn(line);
        // the overflow series of each (role, end) always has its slot
        bpf.setMaxEntries(MAPS.stats, config.max_cgroups + 2 * (CONSTANTS.TCP_LIFECYCLE_ENDS - CONSTANTS.TCP_LIFECYCLE_END_FIN));
      },
      initialize(bpf: BpfObject) {
        const zero = Buffer.alloc(STATS_SIZE * bpf.possibleCpus());
        for (const role of [CONSTANTS.TCP_LIFECYCLE_ROLE_CLIENT, CONSTANTS.TCP_LIFECYCLE_ROLE_SERVER]) {
          for (let end = CONSTANTS.TCP_LIFECYCLE_END_FIN; end < CONSTANTS.TCP_LIFECYCLE_ENDS; end++) bpf.updateMap(MAPS.stats, statsKey(OVERFLOW_CGROUP_ID, role, end), zero);
        }
      },
      // Records backed by the event bytes (raw_log_record.ts); lifecycleLogRecord is the decoded
      // reference they are tested against.
      decodeRaw: (batch, offset, length) => LifecycleRawLogRecord.decode(batch, offset, length),
      metrics: (bpf, startTime, endTime) => {
        const dropped = drops(bpf);
        const notFollowed = dropped[CONSTANTS.TCP_LIFECYCLE_DROP_UNTRACKED];
        untracked.note(notFollowed);
        return this.series.collect(
          bpf,
          MAPS.stats,
          () => sumWorkloadStats(bpf.readMap(MAPS.stats)),
          (stats) =>
            lifecycleMetrics({
              stats,
              droppedEvents: dropped[CONSTANTS.TCP_LIFECYCLE_DROP_RINGBUF],
              untrackedEvents: { reason: DROP_REASONS.connectionUntracked, count: notFollowed },
              sampledOutEvents: perCpuCounter(bpf, MAPS.sampledOut, 0),
              receiverId: settings.id.text,
              startTime,
              endTime,
              cgroups: this.cgroups,
              seriesStartTime: (cgroupId) => this.series.startTime(cgroupId, startTime),
            }),
        );
      },
      overflowUpdates: (bpf) => drops(bpf)[CONSTANTS.TCP_LIFECYCLE_DROP_STATS_FULL],
    });
  }
}
