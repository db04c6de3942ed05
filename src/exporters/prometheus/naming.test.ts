import { test } from 'node:test';
import assert from 'node:assert/strict';
import { prometheusLabelName, prometheusMetricName, sanitizeMetricName, unitWords } from './naming';

test('metric names: dots to underscores, unit suffix, _total for counters', () => {
  const cases: [string, string, 'counter' | 'gauge' | 'histogram', string][] = [
    ['system.network.tcp.rtt.duration', 's', 'histogram', 'system_network_tcp_rtt_duration_seconds'],
    ['system.network.tcp.io', 'By', 'counter', 'system_network_tcp_io_bytes_total'],
    ['system.network.connection.count', '{connection}', 'gauge', 'system_network_connection_count'],
    ['tcpscope.receiver.dropped_events', '{event}', 'counter', 'tcpscope_receiver_dropped_events_total'],
    ['process.cpu.time', 's', 'counter', 'process_cpu_time_seconds_total'],
    ['process.memory.usage', 'By', 'gauge', 'process_memory_usage_bytes'],
    ['system.cpu.utilization', '1', 'gauge', 'system_cpu_utilization_ratio'],
    ['requests', '1', 'counter', 'requests_total'],
    ['http.server.duration_seconds', 's', 'histogram', 'http_server_duration_seconds'],
    ['jobs_total', '{job}', 'counter', 'jobs_total'],
    ['sent_total', 'By', 'counter', 'sent_bytes_total'],
    ['net.throughput', 'By/s', 'gauge', 'net_throughput_bytes_per_second'],
    ['packets.rate', '{packet}/s', 'gauge', 'packets_rate_per_second'],
    ['weird--name..x', 'ms', 'gauge', 'weird_name_x_milliseconds'],
    ['9lives', '', 'gauge', '_9lives'],
    ['a:b', 'foo', 'gauge', 'a:b_foo'],
  ];
  for (const [name, unit, type, expected] of cases) assert.equal(prometheusMetricName(name, unit, type), expected, `${name} [${unit}] ${type}`);
});

test('unit words and sanitizing', () => {
  assert.equal(unitWords('s'), 'seconds');
  assert.equal(unitWords('{connection}'), '');
  assert.equal(unitWords('1'), '');
  assert.equal(unitWords('KiBy'), 'kibibytes');
  assert.equal(unitWords('By/s'), 'bytes_per_second');
  assert.equal(sanitizeMetricName('a.b-c d'), 'a_b_c_d');
});

test('label names: invalid characters to underscores, key_ before a leading digit or underscore', () => {
  assert.equal(prometheusLabelName('error.type'), 'error_type');
  assert.equal(prometheusLabelName('process.linux.cgroup'), 'process_linux_cgroup');
  assert.equal(prometheusLabelName('otel.metric.overflow'), 'otel_metric_overflow');
  assert.equal(prometheusLabelName('k8s.pod.name'), 'k8s_pod_name');
  assert.equal(prometheusLabelName('1st'), 'key_1st');
  assert.equal(prometheusLabelName('_private'), 'key_private');
  assert.equal(prometheusLabelName('a/b'), 'a_b');
});
