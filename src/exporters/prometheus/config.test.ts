import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateComponentSettings } from '../../config/component_settings';
import { ConfigError } from '../../errors';
import { prometheusExporterSchema, resolvePrometheusExporterConfig, type PrometheusExporterConfig } from './config';

const validate = (settings: unknown) => validateComponentSettings(prometheusExporterSchema, settings, ['exporters', 'prometheus']) as PrometheusExporterConfig;

test('defaults: 0.0.0.0:9464, both histogram forms, scope labels, nothing promoted, 5m expiration', () => {
  assert.deepEqual(resolvePrometheusExporterConfig(validate({})), {
    host: '0.0.0.0',
    port: 9464,
    exponentialHistograms: 'both',
    promoteResourceAttributes: [],
    scopeLabels: true,
    metricExpirationMs: 300_000,
  });
  assert.deepEqual(resolvePrometheusExporterConfig(validate({ endpoint: '[::1]:0', promote_resource_attributes: ['host.name'] })).host, '::1');
});

test('bad settings are refused with the key, the value and what is expected', () => {
  const cases: [unknown, RegExp][] = [
    [{ endpoint: '9464' }, /exporters\.prometheus\.endpoint: must be host:port with a port in 0\.\.65535 \(e\.g\. "0\.0\.0\.0:9464"/],
    [{ endpoint: 'localhost:99999' }, /endpoint: must be host:port with a port in 0\.\.65535/],
    [{ exponential_histograms: 'sparse' }, /exponential_histograms: .*native.*classic.*both/],
    [{ promote_resource_attributes: 'host.name' }, /promote_resource_attributes: must be a list, got "host.name"/],
    [{ promote_resource_attributes: [''] }, /promote_resource_attributes: must be a list of resource attribute names/],
    [{ metric_expiration: 'soon' }, /metric_expiration: must be a duration.*got "soon"/],
    [{ path: '/metrics' }, /prometheus\.path: unknown key; expected one of: endpoint, exponential_histograms/],
  ];
  for (const [settings, message] of cases) {
    assert.throws(() => validate(settings), (error: unknown) => error instanceof ConfigError && message.test(error.message), JSON.stringify(settings));
  }
});
