// Config of the tcp_anomalies receiver. Filter and event keys map one-to-one to the BPF side's
// cfg_* globals: they are evaluated in the kernel, so filtered events never cross to user space.
// Metrics count every anomaly whatever the event keys say.
import type { Schema } from 'convict';
import type { SettingProblem } from '../../component';
import { durationFormat, type DurationSetting } from '../../exporters/duration';
import { findCgroupV2Root } from '../../host/cgroup_resolver';
import { KERNEL_RECEIVER_SETTINGS, integerBetween, ringBufferSizeFormat } from '../common/config_formats';
import { cgroupPrefixFormat, cgroupPrefixProblem, portListFormat } from '../common/event_filter_config';
import { CONSTANTS } from './layout';

export interface TcpAnomaliesConfig {
  collection_interval: DurationSetting;
  drain_interval: DurationSetting;
  ring_buffer_size: number;
  max_series: number;
  wakeup_min_bytes: number;
  sampling_pushdown: boolean;
  /** tcp.reset events (both directions). */
  reset_events: boolean;
  /** tcp.retransmit events: the first of a connection, then at most one per event_interval. */
  retransmit_events: boolean;
  event_interval: DurationSetting;
  /** tcp.drop events (opt-in: drops can come in floods). */
  drop_events: boolean;
  /** Count TCP drops at all (skb:kfree_skb). */
  drops: boolean;
  /** Kernel stacks on tcp.reset and tcp.drop events. */
  stack_traces: boolean;
  max_stacks: number;
  ports: number[];
  cgroup_prefix: string;
  max_filter_cgroups: number;
}

const MAX_PORTS = CONSTANTS.TCP_ANOMALIES_MAX_PORTS;

export const tcpAnomaliesSchema: Schema<TcpAnomaliesConfig> = {
  collection_interval: { ...KERNEL_RECEIVER_SETTINGS.collection_interval },
  drain_interval: { ...KERNEL_RECEIVER_SETTINGS.drain_interval },
  ring_buffer_size: {
    doc: 'Bytes of the kernel ring buffer for events (a power-of-two multiple of the page size, at most 2 GiB).',
    format: ringBufferSizeFormat(),
    default: 256 * 1024,
  },
  max_series: {
    doc: 'Distinct (cgroup, kind, reason) series in the kernel counters; beyond it one series with otel.metric.overflow=true.',
    format: integerBetween(16, 1024 * 1024),
    default: 4096,
  },
  wakeup_min_bytes: { ...KERNEL_RECEIVER_SETTINGS.wakeup_min_bytes, default: 4096 },
  sampling_pushdown: { ...KERNEL_RECEIVER_SETTINGS.sampling_pushdown },
  reset_events: {
    doc: 'tcp.reset events for resets sent (with the kernel\'s reason) and received.',
    format: Boolean,
    default: true,
  },
  retransmit_events: {
    doc: 'tcp.retransmit events: a connection\'s first retransmission, then at most one per event_interval, each with the count so far.',
    format: Boolean,
    default: true,
  },
  event_interval: {
    doc: 'Shortest time between two tcp.retransmit events of one connection (the kernel counts the ones in between).',
    format: durationFormat(1),
    default: '1s',
  },
  drop_events: {
    doc: 'tcp.drop events, one per dropped TCP packet (opt-in: a flood of drops is a flood of events; system.network.tcp.drops counts them either way).',
    format: Boolean,
    default: false,
  },
  drops: {
    doc: 'Count TCP packet drops (skb:kfree_skb). The hook runs for every dropped packet of any protocol and returns after one table lookup unless the reason is TCP-related; off: no system.network.tcp.drops.',
    format: Boolean,
    default: true,
  },
  stack_traces: {
    doc: 'Attach the kernel stack (tcp.stack, symbolised from /proc/kallsyms) to tcp.reset and tcp.drop events.',
    format: Boolean,
    default: false,
  },
  max_stacks: {
    doc: 'Distinct kernel stacks held at once when stack_traces is on (256 bytes each); a stack that does not fit is left out of its event.',
    format: integerBetween(16, 65536),
    default: 1024,
  },
  ports: {
    doc: `Only connections with one of these ports, local or peer, produce events (at most ${MAX_PORTS}; empty = all).`,
    format: portListFormat(MAX_PORTS),
    default: [],
  },
  cgroup_prefix: {
    doc: 'Only sockets in this cgroup v2 subtree produce events (empty = all; anomalies without a socket then make none). New cgroups below it are picked up every collection_interval.',
    format: cgroupPrefixFormat,
    default: '',
  },
  max_filter_cgroups: {
    doc: 'Cgroups of the cgroup_prefix subtree the kernel filter holds at once. Beyond it the others make no events, with a warning in the log.',
    format: integerBetween(16, 1024 * 1024),
    default: 4096,
  },
};

/** As tcp_handshake's: cgroup_prefix must name an existing cgroup (`validate` refuses what `run` would). */
export function validateTcpAnomaliesConfig(config: TcpAnomaliesConfig, root: string | undefined = findCgroupV2Root()): SettingProblem | undefined {
  return cgroupPrefixProblem(config.cgroup_prefix, root);
}
