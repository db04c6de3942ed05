// Config of the tcp_lifecycle receiver. Keys map one-to-one to the BPF side's settings
// (`cfg_*` globals) and map sizes.
import type { Schema } from 'convict';
import type { DurationSetting } from '../../exporters/duration';
import { EVENTS } from '../../telemetry/signals';
import { KERNEL_RECEIVER_SETTINGS, integerBetween, ringBufferSizeFormat } from '../common/config_formats';

export interface TcpLifecycleConfig {
  /** How often kernel aggregates are read and pushed down the metrics pipelines. */
  collection_interval: DurationSetting;
  /** Longest time an event waits in the ring buffer when the stream is quiet. */
  drain_interval: DurationSetting;
  ring_buffer_size: number;
  max_connections: number;
  max_cgroups: number;
  wakeup_min_bytes: number;
  /** Evaluate the logs pipelines' common sampling predicate in the kernel. */
  sampling_pushdown: boolean;
  /** The events the kernel writes for the logs pipelines; the others are never written. */
  events: LifecycleEventName[];
}

/** The receiver's events, by the names they are exported with (`EventName`). */
export const LIFECYCLE_EVENT_NAMES = [EVENTS.connect.name, EVENTS.accept.name, EVENTS.close.name] as const;
export type LifecycleEventName = (typeof LIFECYCLE_EVENT_NAMES)[number];

/** events: a non-empty list of the receiver's event names, each at most once. */
function eventNamesFormat(value: unknown): void {
  const expected = `must be a non-empty list of ${LIFECYCLE_EVENT_NAMES.join(', ')}, each at most once (tcp.close alone: one record per socket)`;
  if (!Array.isArray(value) || value.length === 0) throw new Error(expected);
  const unknown = value.filter((name) => !(LIFECYCLE_EVENT_NAMES as readonly unknown[]).includes(name));
  if (unknown.length > 0) throw new Error(`${expected}; not an event of this receiver: ${unknown.map((n) => JSON.stringify(n)).join(', ')}`);
  if (new Set(value).size !== value.length) throw new Error(`${expected}; listed twice: ${JSON.stringify(value.find((n, i) => value.indexOf(n) !== i))}`);
}

/**
 * Locked kernel memory per max_connections entry, measured: the `memlock` the kernel reports for
 * the tcp_lifecycle_sockets hash (112-byte value, 8-byte key, element header, bucket) was 184.0
 * bytes per entry at 65,536, 131,072 and 1,048,576 entries on Linux 6.18, x86_64 (185 at 1024).
 * It is preallocated at load, whatever the traffic.
 */
export const SOCKET_ENTRY_BYTES = 184;

/** Default: 131,072 open TCP sockets followed at once for 23 MiB of locked memory. */
export const DEFAULT_MAX_CONNECTIONS = 131072;

/** Above this (368 MiB locked, about a second to preallocate at load) the size is refused as a mistake. */
export const MAX_MAX_CONNECTIONS = 2 * 1024 * 1024;

function mebibytes(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(bytes < 10 * 2 ** 20 ? 1 : 0)} MiB`;
}

/** max_connections: a size, checked against the locked memory it would take. */
function maxConnectionsFormat(value: unknown): void {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1024) {
    throw new Error(`must be an integer from 1024 to ${MAX_MAX_CONNECTIONS}`);
  }
  if (value > MAX_MAX_CONNECTIONS) {
    throw new Error(
      `would take ${mebibytes(value * SOCKET_ENTRY_BYTES)} of locked kernel memory (${SOCKET_ENTRY_BYTES} bytes each, ` +
        `preallocated at start); at most ${MAX_MAX_CONNECTIONS} (${mebibytes(MAX_MAX_CONNECTIONS * SOCKET_ENTRY_BYTES)}): size it to the peak number of open TCP sockets`,
    );
  }
}

export const tcpLifecycleSchema: Schema<TcpLifecycleConfig> = {
  collection_interval: { ...KERNEL_RECEIVER_SETTINGS.collection_interval },
  drain_interval: { ...KERNEL_RECEIVER_SETTINGS.drain_interval },
  ring_buffer_size: {
    doc: 'Bytes of the kernel ring buffer for events (a power-of-two multiple of the page size, at most 2 GiB). Events beyond it are dropped and counted in tcpscope.receiver.dropped_events.',
    format: ringBufferSizeFormat(),
    default: 4 * 1024 * 1024,
  },
  max_connections: {
    doc: `TCP sockets followed at once (each side of a connection is one; a socket is followed from its first transition to its close), ${SOCKET_ENTRY_BYTES} bytes of locked kernel memory each, preallocated. When that many are followed, a new socket is not followed at all: its events and its connection metrics are missing, counted in tcpscope.receiver.dropped_events reason=connection_untracked and logged once. Nothing followed is ever evicted`,
    format: maxConnectionsFormat,
    default: DEFAULT_MAX_CONNECTIONS,
  },
  max_cgroups: {
    doc: 'Distinct (cgroup, role, connection end) series in the kernel aggregates (a (cgroup, role) takes one per way its connections ended: 1 when all end orderly, at most 5); beyond it, data goes to one series with otel.metric.overflow=true.',
    format: integerBetween(16, 1024 * 1024),
    default: 4096,
  },
  wakeup_min_bytes: { ...KERNEL_RECEIVER_SETTINGS.wakeup_min_bytes },
  sampling_pushdown: { ...KERNEL_RECEIVER_SETTINGS.sampling_pushdown },
  events: {
    doc:
      'The events the logs pipelines get. tcp.close alone is one record per socket: it carries the tuple, the owner, the duration, the bytes and how the connection ended, so [tcp.close] keeps all of that for half the records of the default; tcp.connect adds when each connection was established and its handshake time, tcp.accept when a server took it. The kernel never writes the others (no ring buffer space, no agent CPU). No effect without a logs pipeline.',
    format: eventNamesFormat,
    default: [...LIFECYCLE_EVENT_NAMES],
  },
};
