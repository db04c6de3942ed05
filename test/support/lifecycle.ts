import type { TcpLifecycleConfig } from '../../src/receivers/tcp_lifecycle/config';

/** tcp_lifecycle config for kernel tests: metrics read by hand, events drained every 20 ms; a
 * test overrides what it is about (ring size, table size, wake-ups). */
export const LIFECYCLE_TEST_CONFIG: TcpLifecycleConfig = {
  collection_interval: '1h',
  drain_interval: '20ms',
  ring_buffer_size: 1 << 20,
  max_connections: 65536,
  max_cgroups: 1024,
  wakeup_min_bytes: 65536,
  sampling_pushdown: true,
  events: ['tcp.connect', 'tcp.accept', 'tcp.close'],
};
