// Config of the tcp_lifecycle receiver. Keys map one-to-one to the BPF side's settings
// (`cfg_*` globals) and map sizes.
import type { Schema } from 'convict';
import type { DurationSetting } from '../../exporters/duration';
import { KERNEL_RECEIVER_SETTINGS, integerBetween, ringBufferSizeFormat } from '../shared/config_formats';

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
    doc: 'Sockets tracked at once (LRU: the least recently used is evicted when full).',
    format: integerBetween(1024, 16 * 1024 * 1024),
    default: 65536,
  },
  max_cgroups: {
    doc: 'Distinct (cgroup, role) series in the kernel aggregates; beyond it, data goes to one series with otel.metric.overflow=true.',
    format: integerBetween(16, 1024 * 1024),
    default: 4096,
  },
  wakeup_min_bytes: { ...KERNEL_RECEIVER_SETTINGS.wakeup_min_bytes },
  sampling_pushdown: { ...KERNEL_RECEIVER_SETTINGS.sampling_pushdown },
};
