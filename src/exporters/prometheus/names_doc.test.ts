import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { DOC_PATH, metricRows, withNamesTables } from './names_doc';

test('docs/prometheus.md lists the Prometheus names the exporter gives (regenerate: npm run docs)', () => {
  const doc = readFileSync(DOC_PATH, 'utf8');
  assert.equal(doc, withNamesTables(doc));
});

test('the names the dashboard and the e2e tests rely on', () => {
  const names = Object.fromEntries(metricRows().map((r) => [r.otlpName, r.prometheusName]));
  assert.equal(names['system.network.tcp.rtt.duration'], 'system_network_tcp_rtt_duration_seconds');
  assert.equal(names['system.network.tcp.handshake.duration'], 'system_network_tcp_handshake_duration_seconds');
  assert.equal(names['system.network.tcp.connection.duration'], 'system_network_tcp_connection_duration_seconds');
  assert.equal(names['system.network.tcp.io'], 'system_network_tcp_io_bytes_total');
  assert.equal(names['system.network.connection.count'], 'system_network_connection_count');
  assert.equal(names['tcpscope.exporter.dropped_items'], 'tcpscope_exporter_dropped_items_total');
  assert.equal(names['tcpscope.receiver.dropped_events'], 'tcpscope_receiver_dropped_events_total');
  assert.equal(names['process.memory.usage'], 'process_memory_usage_bytes');
});
