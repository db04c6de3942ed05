// The shared sending side as an exporter composes it: per-signal lanes, drops counted per signal,
// flush, bounded shutdown, readiness; and the shared config keys. Tested here once; each exporter's
// tests cover only what is its own (encoding, transport, its protocol's failure classes).
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import type { Schema } from 'convict';
import { validateComponentSettings } from '../../config/component_settings';
import { ConfigError, ExportError } from '../../errors';
import { recordingSettings } from '../../../test/support/recording-settings';
import { queueRetrySchema, resolveQueueRetryConfig, validateQueueRetryConfig, type QueueRetryConfig, type QueueRetrySettings } from './config';
import type { SendOutcome } from './delivery_queue';
import { QueuedSignals } from './queued_signals';
import type { BatchSender } from './sender';

const SETTINGS: QueueRetrySettings = {
  timeoutMs: 2_000,
  queueSize: 2,
  queueBytes: 1024,
  flushTimeoutMs: 0,
  retry: { enabled: true, initialIntervalMs: 60_000, maxIntervalMs: 60_000, maxElapsedTimeMs: 0, multiplier: 1, randomizationFactor: 0 },
};

/** A sender answering from a script, then `fallback`; records what it was given. */
class ScriptedSender implements BatchSender<number> {
  readonly attempts: number[] = [];
  closed = 0;
  constructor(
    public script: SendOutcome[] = [],
    public fallback: SendOutcome = { kind: 'sent' },
  ) {}
  send(batch: number): Promise<SendOutcome> {
    this.attempts.push(batch);
    return Promise.resolve(this.script.shift() ?? this.fallback);
  }
  shutdown(): Promise<void> {
    this.closed++;
    return Promise.resolve();
  }
}

const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

function setup(settings: QueueRetrySettings = SETTINGS) {
  const rec = recordingSettings('test');
  const sending = new QueuedSignals({ exporterType: 'test', destination: 'backend:1', settings, logger: rec.logger });
  const senders = { metrics: new ScriptedSender(), logs: new ScriptedSender() };
  let made = 0;
  const metrics = sending.lane<number>('metrics', { countItems: (n) => n, createSender: () => (made++, senders.metrics) });
  const logs = sending.lane<number>('logs', { countItems: (n) => n, createSender: () => (made++, senders.logs), bytes: { sizeOf: (n) => n * 100 } });
  return { sending, senders, metrics, logs, lines: rec.lines, made: () => made };
}

describe('QueuedSignals', () => {
  it('makes each sender on its first send, not at start, and delivers per signal', async () => {
    const { sending, senders, metrics, logs, made } = setup();
    sending.start();
    assert.equal(made(), 0, 'no sender (no connection) before the first batch');
    await sending.accept(metrics, 3);
    await sending.accept(logs, 4, 5);
    await sending.forceFlush();
    assert.equal(made(), 2);
    assert.deepStrictEqual(senders.metrics.attempts, [3]);
    assert.deepStrictEqual(senders.logs.attempts, [4, 5]);
    assert.deepStrictEqual(sending.droppedItems(), { metrics: 0, logs: 0 });
  });

  it('counts drops per signal: permanent rejections, partial successes, queue overflow by count and by bytes', async () => {
    const { sending, senders, metrics, logs, lines } = setup();
    senders.metrics.script = [{ kind: 'permanent', reason: 'HTTP 400: bad data' }, { kind: 'sent', rejected: 2 }];
    sending.start();
    await sending.accept(metrics, 7);
    await sending.accept(metrics, 5);
    await settle();
    assert.deepStrictEqual(sending.droppedItems(), { metrics: 7 + 2, logs: 0 });
    assert.deepStrictEqual(sending.readiness(), { ready: true }, 'a delivery since the rejection');
    // Logs backend down: 1 batch in flight; 1024 bytes hold 10 items' worth of waiting batches.
    senders.logs.fallback = { kind: 'retryable', reason: 'HTTP 503' };
    await sending.accept(logs, 1);
    await settle();
    await sending.accept(logs, 4, 4, 3);
    assert.deepStrictEqual(sending.queueSizes(), { metrics: 0, logs: 3 }, 'the one in flight and the two newest that fit');
    assert.deepStrictEqual(sending.droppedItems(), { metrics: 9, logs: 4 });
    assert.equal(lines.filter((l) => l.includes('sending queue full (2 batches or 1024 bytes)')).length, 1);
    await sending.shutdown();
    assert.deepStrictEqual(sending.droppedItems(), { metrics: 9, logs: 4 + 1 + 4 + 3 });
    assert.ok(lines.includes('WARN  test: logs: 8 log records still queued for backend:1 were dropped at shutdown'), lines.join('\n'));
  });

  it('is not ready while the backend rejects every batch, and says why', async () => {
    const { sending, senders, logs } = setup();
    senders.logs.fallback = { kind: 'permanent', reason: 'HTTP 401: unauthorized' };
    sending.start();
    await sending.accept(logs, 1);
    await settle();
    assert.deepStrictEqual(sending.readiness(), {
      ready: false,
      reason: "backend:1 rejects batches permanently (logs: HTTP 401: unauthorized); fix the exporter's endpoint, headers or credentials",
    });
  });

  it('forceFlush() rejects with EXPORT_FAILED when the backend is down, the batches staying queued', async () => {
    const { sending, senders, logs } = setup();
    senders.logs.fallback = { kind: 'retryable', reason: 'HTTP 503' };
    sending.start();
    await sending.accept(logs, 2);
    await assert.rejects(sending.forceFlush(), (e: unknown) => {
      assert.ok(e instanceof ExportError);
      assert.equal(e.message, 'could not deliver to backend:1 now; 1 logs batches stay queued for retry');
      return true;
    });
    assert.deepStrictEqual(sending.queueSizes(), { metrics: 0, logs: 1 });
    assert.deepStrictEqual(sending.droppedItems(), { metrics: 0, logs: 0 });
    await sending.shutdown();
  });

  it('after shutdown, drops and counts what it is given and says so; shutdown is idempotent, closes the senders once', async () => {
    const { sending, senders, metrics } = setup();
    sending.start();
    await sending.accept(metrics, 1);
    await sending.forceFlush();
    await sending.shutdown();
    await sending.shutdown();
    assert.equal(senders.metrics.closed, 1);
    assert.equal(senders.logs.closed, 0, 'never made, never closed');
    await assert.rejects(sending.accept(metrics, 6), (e: unknown) => {
      assert.ok(e instanceof ExportError);
      assert.equal(e.message, 'test exporter for backend:1 is shut down; metrics batch dropped');
      return true;
    });
    assert.deepStrictEqual(sending.droppedItems(), { metrics: 6, logs: 0 });
    assert.equal(sending.shutdownBudgetMs(), 3_000);
  });

  it('shutdown is safe without start and start after shutdown does nothing', async () => {
    const { sending, senders, metrics } = setup();
    await sending.shutdown();
    sending.start();
    await assert.rejects(sending.accept(metrics, 2));
    assert.deepStrictEqual(senders.metrics.attempts, []);
    assert.deepStrictEqual(sending.droppedItems(), { metrics: 2, logs: 0 });
  });
});

describe('shared queue and retry config', () => {
  const schema = queueRetrySchema({ bytesScope: '', transientFailures: 'unreachable, HTTP 503' }) as Schema<QueueRetryConfig>;
  const validate = (input: unknown) => validateComponentSettings(schema, input, ['exporters', 'x']) as QueueRetryConfig;

  it('has the Collector-like defaults, resolved to milliseconds', () => {
    assert.deepStrictEqual(resolveQueueRetryConfig(validate(null)), {
      timeoutMs: 10_000,
      queueSize: 100,
      queueBytes: 16 * 1024 * 1024,
      flushTimeoutMs: 20,
      retry: { enabled: true, initialIntervalMs: 5000, maxIntervalMs: 30000, maxElapsedTimeMs: 300_000, multiplier: 1.5, randomizationFactor: 0.5 },
    });
  });

  it('documents the exporter’s own transient failures', () => {
    const enabled = (schema.retry_on_failure as unknown as { enabled: { doc: string } }).enabled;
    assert.equal(enabled.doc, 'retry batches that failed for a transient reason (unreachable, HTTP 503); false drops them at the first failure');
  });

  it('refuses max_interval below initial_interval, naming the key', () => {
    assert.deepStrictEqual(validateQueueRetryConfig(validate({ retry_on_failure: { initial_interval: '10s', max_interval: '1s' } })), {
      key: 'retry_on_failure.max_interval',
      message: 'must be at least initial_interval ("10s"), got "1s"',
    });
    assert.equal(validateQueueRetryConfig(validate({})), undefined);
  });

  const bad: [string, unknown, RegExp][] = [
    ['zero timeout', { timeout: 0 }, /^exporters\.x\.timeout: must be a duration of at least 1ms, got 0/],
    ['zero queue', { sending_queue: { queue_size: 0 } }, /^exporters\.x\.sending_queue\.queue_size: must be an integer of at least 1, got 0/],
    ['zero queue_bytes', { sending_queue: { queue_bytes: 0 } }, /^exporters\.x\.sending_queue\.queue_bytes: must be an integer of at least 1, got 0/],
    ['a negative flush_timeout', { sending_queue: { flush_timeout: -1 } }, /^exporters\.x\.sending_queue\.flush_timeout: must be a duration/],
    ['multiplier below 1', { retry_on_failure: { multiplier: 0.5 } }, /^exporters\.x\.retry_on_failure\.multiplier: must be a number of at least 1, got 0\.5/],
    ['jitter above 1', { retry_on_failure: { randomization_factor: 2 } }, /^exporters\.x\.retry_on_failure\.randomization_factor: must be a number from 0 to 1, got 2/],
    ['unknown retry key', { retry_on_failure: { max_retries: 3 } }, /^exporters\.x\.retry_on_failure\.max_retries: unknown key/],
  ];
  for (const [name, input, error] of bad) {
    it(`rejects ${name}`, () =>
      assert.throws(() => validate(input), (e: unknown) => {
        assert.ok(e instanceof ConfigError, String(e));
        assert.match(e.message, error);
        return true;
      }));
  }
});
