import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AggregationTemporality } from '@opentelemetry/sdk-metrics';
import { MetricsStore } from './store';
import { counter, push } from '../../../test/support/prometheus_fixtures';

const values = (store: MetricsStore) =>
  store
    .scrape()
    .series.map((s) => `${String(s.attributes.cgroup)}=${String(s.value)}`)
    .sort();

test('a newer push replaces a series; the scrape repeats the latest cumulative value', () => {
  const store = new MetricsStore();
  store.update(push([counter('c', '1', [[{ cgroup: 'a' }, 1]])]));
  store.update(push([counter('c', '1', [[{ cgroup: 'a' }, 5]])]));
  assert.deepEqual(values(store), ['a=5']);
  assert.deepEqual(values(store), ['a=5'], 'a second scrape without a push serves the same total');
});

test('a series that left the push is served to exactly one more scrape, then gone', () => {
  const store = new MetricsStore();
  store.update(push([counter('c', '1', [[{ cgroup: 'a' }, 1], [{ cgroup: 'gone' }, 3]])]));
  // its final values were pushed but not scraped before it left
  store.update(push([counter('c', '1', [[{ cgroup: 'a' }, 2]])]));
  assert.deepEqual(values(store), ['a=2', 'gone=3']);
  assert.deepEqual(values(store), ['a=2']);
  assert.equal(store.size(), 1);
});

test('a series scraped before it left is dropped with the next push', () => {
  const store = new MetricsStore();
  store.update(push([counter('c', '1', [[{ cgroup: 'a' }, 1], [{ cgroup: 'gone' }, 3]])]));
  assert.deepEqual(values(store), ['a=1', 'gone=3']);
  store.update(push([counter('c', '1', [[{ cgroup: 'a' }, 2]])]));
  assert.deepEqual(values(store), ['a=2']);
});

test('unscraped vanished series expire after metric_expiration, so the store stays bounded', () => {
  let now = 0;
  const store = new MetricsStore(undefined, 1000, () => now);
  for (let i = 0; i < 100; i++) {
    now = i * 100;
    store.update(push([counter('c', '1', [[{ cgroup: `pod-${i}` }, i]])]));
  }
  // vanished at 100..9900 ms; those older than 1 s are gone, the current one stays
  assert.equal(store.size(), 11);
});

test('metrics absent from a push keep their series (they may come with another receiver\'s push); delta metrics are skipped once', () => {
  const skipped: string[] = [];
  const store = new MetricsStore((name) => skipped.push(name));
  store.update(push([counter('c', '1', [[{ cgroup: 'a' }, 1]])]));
  store.update(push([counter('d', '1', [[{ cgroup: 'b' }, 7]])]));
  const delta = { ...counter('delta', '1', [[{ cgroup: 'a' }, 1]]), aggregationTemporality: AggregationTemporality.DELTA };
  store.update(push([delta]));
  store.update(push([delta]));
  assert.deepEqual(values(store), ['a=1', 'b=7']);
  assert.deepEqual(skipped, ['delta']);
});
