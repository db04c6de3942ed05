// Config of the tcp_handshake receiver. Filter keys map one-to-one to the BPF side's cfg_*
// globals: they are evaluated in the kernel, so filtered events never cross to user space.
import type { Schema } from 'convict';
import type { SettingProblem } from '../../component';
import { findCgroupV2Root } from '../../host/cgroup_resolver';
import type { DurationSetting } from '../../exporters/duration';
import { KERNEL_RECEIVER_SETTINGS, integerBetween, ringBufferSizeFormat } from '../common/config_formats';
import { cgroupPrefixFormat, cgroupPrefixProblem, portListFormat } from '../common/event_filter_config';

export interface TcpHandshakeConfig {
  collection_interval: DurationSetting;
  drain_interval: DurationSetting;
  ring_buffer_size: number;
  max_attempts: number;
  max_series: number;
  wakeup_min_bytes: number;
  /** Evaluate the logs pipelines' common sampling predicate in the kernel. */
  sampling_pushdown: boolean;
  /** Events for client handshakes only (no server-side events). */
  connect_only: boolean;
  /** Events for failures only. */
  failed_only: boolean;
  /** Events only for these service ports (peer port of clients, local port of servers). */
  ports: number[];
  /** Events only for sockets in this cgroup v2 subtree (path relative to the v2 root). */
  cgroup_prefix: string;
  /** Cgroups of the cgroup_prefix subtree the kernel filter holds at once. */
  max_filter_cgroups: number;
}

const MAX_PORTS = 16;

/**
 * Locked kernel memory per max_attempts entry, measured: the `memlock` the kernel reports for the
 * tcp_handshake_attempts hash (48-byte value, 8-byte key, element header, bucket) was 120.0 bytes
 * per entry at 65,536, 262,144 and 1,048,576 entries on Linux 6.18, x86_64 (121 at 1024). It is
 * preallocated at load, whatever the traffic (as the LRU hash it replaced was).
 */
export const ATTEMPT_ENTRY_BYTES = 120;

/** Default: 65,536 connects pending at once for 7.5 MiB of locked memory. */
export const DEFAULT_MAX_ATTEMPTS = 65536;


export const tcpHandshakeSchema: Schema<TcpHandshakeConfig> = {
  collection_interval: { ...KERNEL_RECEIVER_SETTINGS.collection_interval },
  drain_interval: { ...KERNEL_RECEIVER_SETTINGS.drain_interval },
  ring_buffer_size: {
    doc: 'Bytes of the kernel ring buffer for events (a power-of-two multiple of the page size, at most 2 GiB).',
    format: ringBufferSizeFormat(),
    default: 1024 * 1024,
  },
  max_attempts: {
    doc: `Client handshakes followed at once, from the SYN to their outcome, ${ATTEMPT_ENTRY_BYTES} bytes of locked kernel memory each, preallocated. When that many connects are pending, a new one is not followed: its outcome is missing from the histogram and the events, counted in tcpscope.receiver.dropped_events reason=attempt_untracked and logged once. Nothing followed is ever evicted`,
    format: integerBetween(1024, 16 * 1024 * 1024),
    default: DEFAULT_MAX_ATTEMPTS,
  },
  max_series: {
    doc: 'Distinct (cgroup, role, error) series in the kernel histogram; beyond it one series with otel.metric.overflow=true.',
    format: integerBetween(16, 1024 * 1024),
    default: 4096,
  },
  wakeup_min_bytes: { ...KERNEL_RECEIVER_SETTINGS.wakeup_min_bytes },
  sampling_pushdown: { ...KERNEL_RECEIVER_SETTINGS.sampling_pushdown },
  connect_only: {
    doc: 'Only client handshakes produce events (like Inspektor Gadget --connect-only). Metrics still count every handshake.',
    format: Boolean,
    default: false,
  },
  failed_only: {
    doc: 'Only failed handshakes produce events (like --failed-connect-only). Metrics still count every attempt.',
    format: Boolean,
    default: false,
  },
  ports: {
    doc: `Only handshakes to these service ports produce events (at most ${MAX_PORTS}; empty = all).`,
    format: portListFormat(MAX_PORTS),
    default: [],
  },
  cgroup_prefix: {
    doc: 'Only sockets in this cgroup v2 subtree produce events, e.g. /kubepods.slice (empty = all). New cgroups below it are picked up every collection_interval.',
    format: cgroupPrefixFormat,
    default: '',
  },
  max_filter_cgroups: {
    doc: 'Cgroups of the cgroup_prefix subtree the kernel filter holds at once (removed cgroups leave it at each collection_interval). Beyond it the others make no events, with a warning in the log.',
    format: integerBetween(16, 1024 * 1024),
    default: 4096,
  },
};

/**
 * The tcp_handshake factory's validate(): cgroup_prefix must name an existing cgroup, checked as
 * the receiver checks it when it starts, so that `tcpscope validate` refuses what `run` would.
 */
export function validateTcpHandshakeConfig(
  config: TcpHandshakeConfig,
  root: string | undefined = findCgroupV2Root(),
): SettingProblem | undefined {
  return cgroupPrefixProblem(config.cgroup_prefix, root);
}
