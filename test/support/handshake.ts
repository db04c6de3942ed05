import type { TcpHandshakeConfig } from '../../src/receivers/tcp_handshake/config';

/** tcp_handshake config for kernel tests: metrics read by hand, events drained every 20 ms. */
export const HANDSHAKE_TEST_CONFIG: TcpHandshakeConfig = {
  collection_interval: '1h',
  drain_interval: '20ms',
  ring_buffer_size: 1 << 20,
  max_attempts: 65536,
  max_series: 1024,
  wakeup_min_bytes: 65536,
  sampling_pushdown: true,
  connect_only: false,
  failed_only: false,
  ports: [],
  cgroup_prefix: '',
  max_filter_cgroups: 4096,
};
