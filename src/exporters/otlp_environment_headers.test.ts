import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withEnvironmentHeaders } from './otlp_environment_headers';

const env = {
  OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Bearer%20all, x-tenant=a',
  OTEL_EXPORTER_OTLP_LOGS_HEADERS: 'x-tenant=logs',
  OTEL_EXPORTER_OTLP_METRICS_HEADERS: 'x-metrics=1',
};

test('the signal variable wins over the general one, and both fill in only what the config does not set', () => {
  assert.deepEqual(withEnvironmentHeaders({}, 'logs', env), { authorization: 'Bearer all', 'x-tenant': 'logs' });
  assert.deepEqual(withEnvironmentHeaders({}, 'metrics', env), { authorization: 'Bearer all', 'x-tenant': 'a', 'x-metrics': '1' });
  assert.deepEqual(withEnvironmentHeaders({ Authorization: 'Bearer configured' }, 'logs', env), { 'x-tenant': 'logs', Authorization: 'Bearer configured' });
});

test('no variables: the configured headers as they are', () => {
  assert.deepEqual(withEnvironmentHeaders({ 'x-a': 'b' }, 'metrics', {}), { 'x-a': 'b' });
});
