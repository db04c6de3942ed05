import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../paths';
import { ATTR } from './attributes';
import { renderTelemetryDoc } from './doc';
import { EVENTS, METRICS } from './signals';

test('docs/telemetry.md is generated from the definitions (run `npm run docs:telemetry`)', () => {
  assert.equal(readFileSync(join(PACKAGE_ROOT, 'docs', 'telemetry.md'), 'utf8'), renderTelemetryDoc());
});

test('every attribute a metric or event carries is defined once', () => {
  const defined = new Set(Object.values(ATTR).map((a) => a.key));
  assert.equal(defined.size, Object.values(ATTR).length, 'no duplicate keys');
  for (const s of [...Object.values(METRICS), ...Object.values(EVENTS)]) {
    for (const a of s.attributes) assert.ok(defined.has(a.key), `${s.name}: ${a.key}`);
  }
});
