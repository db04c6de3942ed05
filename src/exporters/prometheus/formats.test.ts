// Both exposition formats of the same pushed metrics: the text format checked line for line, the
// protobuf format decoded with protobufjs from client_model's metrics.proto
// (test/support/prometheus_proto.ts) and checked field for field.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeDelimited } from '../../../test/support/prometheus_proto';
import { buildFamilies, type ExponentialHistogramMode } from './families';
import { writeProtobuf } from './protobuf_format';
import { MetricsStore } from './store';
import { writeText } from './text_format';
import { counter, explicitHistogram, exponentialHistogram, push, upDown } from '../../../test/support/prometheus_fixtures';

function families(mode: ExponentialHistogramMode = 'both', promote: string[] = [], scopeLabels = true) {
  const store = new MetricsStore();
  store.update(
    push([
      counter('system.network.tcp.io', 'By', [[{ 'network.io.direction': 'transmit', 'error.type': 'x"y\\z' }, 4321]]),
      upDown('system.network.connection.count', '{connection}', [[{ 'process.linux.cgroup': '/a' }, 2]]),
      explicitHistogram('system.network.tcp.handshake.duration', { 'error.type': 'ECONNREFUSED' }),
      exponentialHistogram('system.network.tcp.rtt.duration', { 'process.linux.cgroup': '/a' }),
    ]),
  );
  return buildFamilies(store.scrape(), { promoteResourceAttributes: promote, scopeLabels, exponentialHistograms: mode }).families;
}

const SCOPE = 'otel_scope_name="tcpscope/receiver/tcp_test",otel_scope_version="0.1.0"';

test('text format 0.0.4: HELP, TYPE, target_info, escaped labels, classic buckets for both histogram kinds', () => {
  assert.equal(
    writeText(families()),
    [
      '# HELP target_info Target metadata',
      '# TYPE target_info gauge',
      'target_info{service_name="tcpscope",service_instance_id="i-1",host_name="node-1"} 1',
      '# HELP system_network_tcp_io_bytes_total system.network.tcp.io help',
      '# TYPE system_network_tcp_io_bytes_total counter',
      `system_network_tcp_io_bytes_total{network_io_direction="transmit",error_type="x\\"y\\\\z",${SCOPE}} 4321`,
      '# HELP system_network_connection_count system.network.connection.count help',
      '# TYPE system_network_connection_count gauge',
      `system_network_connection_count{process_linux_cgroup="/a",${SCOPE}} 2`,
      '# HELP system_network_tcp_handshake_duration_seconds durations',
      '# TYPE system_network_tcp_handshake_duration_seconds histogram',
      `system_network_tcp_handshake_duration_seconds_bucket{error_type="ECONNREFUSED",${SCOPE},le="0.001"} 1`,
      `system_network_tcp_handshake_duration_seconds_bucket{error_type="ECONNREFUSED",${SCOPE},le="0.01"} 3`,
      `system_network_tcp_handshake_duration_seconds_bucket{error_type="ECONNREFUSED",${SCOPE},le="+Inf"} 6`,
      `system_network_tcp_handshake_duration_seconds_sum{error_type="ECONNREFUSED",${SCOPE}} 1.5`,
      `system_network_tcp_handshake_duration_seconds_count{error_type="ECONNREFUSED",${SCOPE}} 6`,
      '# HELP system_network_tcp_rtt_duration_seconds round trip times',
      '# TYPE system_network_tcp_rtt_duration_seconds histogram',
      `system_network_tcp_rtt_duration_seconds_bucket{process_linux_cgroup="/a",${SCOPE},le="0"} 1`,
      `system_network_tcp_rtt_duration_seconds_bucket{process_linux_cgroup="/a",${SCOPE},le="0.001953125"} 4`,
      `system_network_tcp_rtt_duration_seconds_bucket{process_linux_cgroup="/a",${SCOPE},le="0.00390625"} 9`,
      `system_network_tcp_rtt_duration_seconds_bucket{process_linux_cgroup="/a",${SCOPE},le="+Inf"} 9`,
      `system_network_tcp_rtt_duration_seconds_sum{process_linux_cgroup="/a",${SCOPE}} 0.05`,
      `system_network_tcp_rtt_duration_seconds_count{process_linux_cgroup="/a",${SCOPE}} 9`,
      '',
    ].join('\n'),
  );
});

test('text format: promoted resource attributes and no scope labels', () => {
  const text = writeText(families('both', ['host.name', 'not.there'], false));
  assert.match(text, /^system_network_connection_count\{process_linux_cgroup="\/a",host_name="node-1"\} 2$/m);
  assert.doesNotMatch(text, /otel_scope_name/);
});

test('protobuf format: delimited MetricFamily messages; the exponential histogram as a native histogram with classic buckets too', () => {
  const decoded = decodeDelimited(writeProtobuf(families(), 'both'));
  assert.deepEqual(
    decoded.map((f) => [f.name, f.type]),
    [
      ['target_info', 'GAUGE'],
      ['system_network_tcp_io_bytes_total', 'COUNTER'],
      ['system_network_connection_count', 'GAUGE'],
      ['system_network_tcp_handshake_duration_seconds', 'HISTOGRAM'],
      ['system_network_tcp_rtt_duration_seconds', 'HISTOGRAM'],
    ],
  );
  const scope = [
    { name: 'otel_scope_name', value: 'tcpscope/receiver/tcp_test' },
    { name: 'otel_scope_version', value: '0.1.0' },
  ];
  assert.deepEqual(decoded[1], {
    name: 'system_network_tcp_io_bytes_total',
    help: 'system.network.tcp.io help',
    type: 'COUNTER',
    metric: [{ label: [{ name: 'network_io_direction', value: 'transmit' }, { name: 'error_type', value: 'x"y\\z' }, ...scope], counter: { value: 4321 } }],
  });
  assert.deepEqual(decoded[2].metric, [{ label: [{ name: 'process_linux_cgroup', value: '/a' }, ...scope], gauge: { value: 2 } }]);
  // An explicit histogram is classic only: no schema, no spans.
  assert.deepEqual((decoded[3].metric as object[])[0], {
    label: [{ name: 'error_type', value: 'ECONNREFUSED' }, ...scope],
    histogram: {
      sampleCount: 6,
      sampleSum: 1.5,
      bucket: [
        { cumulativeCount: 1, upperBound: 0.001 },
        { cumulativeCount: 3, upperBound: 0.01 },
      ],
    },
  });
  assert.deepEqual((decoded[4].metric as object[])[0], {
    label: [{ name: 'process_linux_cgroup', value: '/a' }, ...scope],
    histogram: {
      sampleCount: 9,
      sampleSum: 0.05,
      bucket: [
        { cumulativeCount: 1, upperBound: 0 },
        { cumulativeCount: 4, upperBound: 2 ** -9 },
        { cumulativeCount: 9, upperBound: 2 ** -8 },
      ],
      schema: 3,
      zeroThreshold: 0,
      zeroCount: 1,
      positiveSpan: [
        { offset: -79, length: 3 },
        { offset: 11, length: 1 },
      ],
      positiveDelta: [2, -2, 1, 4],
    },
  });
});

test('protobuf format: native only, or classic only', () => {
  const native = decodeDelimited(writeProtobuf(families('native'), 'native'));
  const nativeHistogram = ((native[4].metric as object[])[0] as { histogram: Record<string, unknown> }).histogram;
  assert.equal(nativeHistogram.bucket, undefined);
  assert.equal(nativeHistogram.schema, 3);
  // the explicit histogram keeps its classic buckets whatever the mode
  assert.equal(((native[3].metric as object[])[0] as { histogram: { bucket: unknown[] } }).histogram.bucket.length, 2);
  const classic = decodeDelimited(writeProtobuf(families('classic'), 'classic'));
  const classicHistogram = ((classic[4].metric as object[])[0] as { histogram: Record<string, unknown> }).histogram;
  assert.equal(classicHistogram.schema, undefined);
  assert.equal(classicHistogram.positiveSpan, undefined);
  assert.equal((classicHistogram.bucket as unknown[]).length, 3);
});

test('protobuf format: counts past 2^32 and large negative deltas survive the varint and zigzag encodings', () => {
  const big = 2 ** 40 + 3;
  const store = new MetricsStore();
  const histogram = exponentialHistogram('h', {});
  const point = histogram.dataPoints[0].value as { count: number; positive: { bucketCounts: number[] } };
  point.positive.bucketCounts[0] = big; // then 1 and 5: deltas 2^40+3, -(2^40+3), 1, 4
  point.count = big + 7;
  store.update(push([counter('c', '1', [[{}, big]]), histogram]));
  const [, c, h] = decodeDelimited(writeProtobuf(buildFamilies(store.scrape(), { promoteResourceAttributes: [], scopeLabels: false, exponentialHistograms: 'native' }).families, 'native'));
  assert.deepEqual((c.metric as object[])[0], { counter: { value: big } });
  const decoded = ((h.metric as object[])[0] as { histogram: { sampleCount: number; positiveDelta: number[] } }).histogram;
  assert.equal(decoded.sampleCount, big + 7);
  assert.deepEqual(decoded.positiveDelta, [big, -big, 1, 4]);
});
