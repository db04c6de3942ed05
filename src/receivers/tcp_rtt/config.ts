// Config of the tcp_rtt receiver; keys map one-to-one to the BPF side's cfg_* globals.
import type { Schema } from 'convict';
import { durationFormat, type DurationSetting } from '../../exporters/duration';
import { KERNEL_RECEIVER_SETTINGS, integerBetween } from '../common/config_formats';

export type GroupBy = 'cgroup' | 'peer_address' | 'peer_port';

export interface TcpRttConfig {
  collection_interval: DurationSetting;
  /** Per-socket minimum time between samples; 0 = every incoming segment. */
  sample_interval: DurationSetting;
  group_by: GroupBy[];
  /** OpenTelemetry exponential histogram scale of the export, 0..3. */
  scale: number;
  /** `exponential` (default) or `explicit` (power-of-two bounds, for Prometheus-style backends). */
  histogram: 'exponential' | 'explicit';
  max_series: number;
}

const GROUPS: readonly GroupBy[] = ['cgroup', 'peer_address', 'peer_port'];

export const tcpRttSchema: Schema<TcpRttConfig> = {
  collection_interval: { ...KERNEL_RECEIVER_SETTINGS.collection_interval },
  sample_interval: {
    doc:
      'Minimum time between two samples of one socket: a sample is the socket\'s smoothed RTT at its first incoming segment once the interval has passed, so each connection is weighted by its time, not its packet count ("0" = every incoming segment, which weighs loss recovery and its duplicate ACKs heavily).',
    format: durationFormat(0),
    default: '50ms',
  },
  group_by: {
    doc: `Histogram series: always per cgroup; add peer_address and/or peer_port for per-peer series (${GROUPS.join(', ')}).`,
    format: (value: unknown) => {
      if (!Array.isArray(value) || !value.every((g) => GROUPS.includes(g as GroupBy)) || !value.includes('cgroup')) {
        throw new Error(`must be a list of ${GROUPS.join(', ')} that includes cgroup`);
      }
    },
    default: ['cgroup'],
  },
  scale: {
    doc: 'Scale of the exported exponential histogram: 3 = 8 buckets per power of two (the kernel resolution), 0 = 1.',
    format: (value: unknown) => {
      if (value !== 0 && value !== 1 && value !== 2 && value !== 3) throw new Error(`must be 0, 1, 2 or 3`);
    },
    default: 3,
  },
  histogram: {
    doc: 'exponential (OTel exponential histogram) or explicit (bounds at powers of two seconds, for Prometheus-style backends).',
    format: ['exponential', 'explicit'],
    default: 'exponential',
  },
  max_series: {
    doc: 'Histogram series kept in the kernel; beyond it one series with otel.metric.overflow=true.',
    format: integerBetween(16, 1 << 20),
    default: 1024,
  },
};
