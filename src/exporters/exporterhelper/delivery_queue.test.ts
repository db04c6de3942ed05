import { strict as assert } from 'node:assert';
import { performance } from 'node:perf_hooks';
import { describe, it } from 'node:test';
import { createLogger } from '../../logger';
import { ExponentialBackoff } from './backoff';
import { systemClock, type Clock } from './clock';
import { DeliveryQueue, type RetrySettings, type SendOutcome } from './delivery_queue';

/** Time that moves only when a test says so; backoff waits are recorded, not slept. */
class FakeClock implements Clock {
  time = 0;
  readonly waits: number[] = [];
  private current: { until: number; done: () => void } | undefined;

  now(): number {
    return this.time;
  }

  sleep(ms: number, wake: AbortSignal): Promise<void> {
    this.waits.push(ms);
    return new Promise((resolve) => {
      const done = () => {
        this.current = undefined;
        resolve();
      };
      if (wake.aborted) return done();
      this.current = { until: this.time + ms, done };
      wake.addEventListener('abort', done, { once: true });
    });
  }

  /** Ends the wait in progress at its due time. */
  async elapse(): Promise<void> {
    assert.ok(this.current, 'a backoff wait is in progress');
    this.time = this.current.until;
    this.current.done();
    await settle();
  }

  get sleeping(): boolean {
    return this.current !== undefined;
  }
}

const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

/** A backend whose answers the test scripts: each send takes the next outcome (default: sent). */
class ScriptedBackend {
  readonly attempts: number[] = [];
  readonly delivered: number[] = [];
  script: SendOutcome[] = [];
  fallback: SendOutcome = { kind: 'sent' };
  hang = false;

  send = (batch: number): Promise<SendOutcome> => {
    this.attempts.push(batch);
    if (this.hang) return new Promise(() => undefined);
    const outcome = this.script.shift() ?? this.fallback;
    if (outcome.kind === 'sent') this.delivered.push(batch);
    return Promise.resolve(outcome);
  };
}

const DOWN: SendOutcome = { kind: 'retryable', reason: 'UNAVAILABLE: connection refused' };
const REFUSED: SendOutcome = { kind: 'permanent', reason: 'INVALID_ARGUMENT: bad data' };

const RETRY: RetrySettings = {
  enabled: true,
  initialIntervalMs: 100,
  maxIntervalMs: 400,
  maxElapsedTimeMs: 0,
  multiplier: 2,
  randomizationFactor: 0,
};

function setup(
  overrides: { capacity?: number; capacityBytes?: number; retry?: Partial<RetrySettings>; send?: (batch: number) => Promise<SendOutcome>; release?: (batch: number) => void } = {},
) {
  const clock = new FakeClock();
  const backend = new ScriptedBackend();
  const lines: string[] = [];
  const queue = new DeliveryQueue<number>({
    signal: 'logs',
    destination: 'collector:4317',
    capacity: overrides.capacity ?? 10,
    // With a byte bound, batch n weighs n bytes.
    ...(overrides.capacityBytes ? { capacityBytes: overrides.capacityBytes, sizeOf: (n: number) => n } : {}),
    retry: { ...RETRY, ...overrides.retry },
    send: overrides.send ?? backend.send,
    // Batch n carries n log records, so drop counts identify the batches.
    countItems: (n) => n,
    ...(overrides.release ? { release: overrides.release } : {}),
    logger: createLogger('debug', (line) => lines.push(line.replace(/^\S+ /, ''))),
    clock,
  });
  return { clock, backend, lines, queue };
}

describe('systemClock', () => {
  it('is monotonic: it reads performance.now(), not the wall clock an NTP step can move', () => {
    const before = performance.now();
    const now = systemClock.now();
    assert.ok(now >= before && now <= performance.now(), `${now} within [${before}, ${performance.now()}]`);
  });
});

describe('ExponentialBackoff', () => {
  it('grows by the multiplier up to max_interval', () => {
    const b = new ExponentialBackoff({ ...RETRY, multiplier: 1.5, maxIntervalMs: 1000 }, () => 0.5);
    const waits = Array.from({ length: 8 }, () => b.next(0));
    assert.deepStrictEqual(waits, [100, 150, 225, 337.5, 506.25, 759.375, 1000, 1000]);
  });

  it('spreads each wait over interval × [1 - f, 1 + f]', () => {
    const settings = { ...RETRY, randomizationFactor: 0.5 };
    assert.equal(new ExponentialBackoff(settings, () => 0).next(0), 50);
    assert.equal(new ExponentialBackoff(settings, () => 0.75).next(0), 125);
    assert.equal(new ExponentialBackoff(settings, () => 0.99).next(0), 149);
  });

  it('stops when the next wait would end past max_elapsed_time', () => {
    const b = new ExponentialBackoff({ ...RETRY, maxElapsedTimeMs: 350 }, () => 0.5);
    assert.equal(b.next(0), 100);
    assert.equal(b.next(100), 200); // ends at 300
    assert.equal(b.next(300), undefined); // 300 + 400 > 350
  });
});

describe('DeliveryQueue', () => {
  it('retries with exponential backoff and logs the outage once, not per attempt', async () => {
    const { clock, backend, lines, queue } = setup();
    backend.script = [DOWN, DOWN, DOWN, DOWN];
    queue.start();
    queue.enqueue(3);
    await settle();
    for (let i = 0; i < 4; i++) await clock.elapse();
    assert.deepStrictEqual(clock.waits, [100, 200, 400, 400]);
    assert.deepStrictEqual(backend.attempts, [3, 3, 3, 3, 3]);
    assert.deepStrictEqual(backend.delivered, [3]);
    assert.equal(queue.dropped(), 0);
    assert.equal(queue.pending(), 0);
    assert.deepStrictEqual(lines, [
      'WARN  logs: cannot deliver to collector:4317 (UNAVAILABLE: connection refused); keeping up to 10 batches and retrying with backoff',
      'INFO  logs: delivering to collector:4317 again after 1.1s; 0 log records were dropped since the last successful delivery',
    ]);
  });

  it('sends batches in order, one at a time, skipping empty ones', async () => {
    const { backend, queue } = setup();
    queue.enqueue(1);
    queue.enqueue(0);
    queue.enqueue(2);
    assert.deepStrictEqual(backend.attempts, [], 'nothing is sent before start()');
    queue.start();
    queue.enqueue(3);
    await settle();
    assert.deepStrictEqual(backend.delivered, [1, 2, 3]);
  });

  it('drops a batch once max_elapsed_time would be exceeded, then goes on with the next', async () => {
    const { clock, backend, lines, queue } = setup({ retry: { maxElapsedTimeMs: 350 } });
    backend.script = [DOWN, DOWN, DOWN];
    queue.start();
    queue.enqueue(4);
    queue.enqueue(5);
    await settle();
    await clock.elapse(); // 100
    await clock.elapse(); // 200: the next wait (400) would end at 700 > 350
    assert.deepStrictEqual(backend.attempts, [4, 4, 4, 5]);
    assert.deepStrictEqual(backend.delivered, [5]);
    assert.equal(queue.dropped(), 4);
    assert.ok(lines.includes('DEBUG logs: gave up on a batch after 300ms of retries (retry_on_failure.max_elapsed_time)'));
    assert.ok(lines.at(-1)?.startsWith('INFO  logs: delivering to collector:4317 again after 0.3s; 4 log records were dropped since the last successful delivery'));
  });

  it('waits at least what the backend asked for (Retry-After), the backoff when that is longer', async () => {
    const { clock, backend, queue } = setup();
    const throttled = (retryAfterMs: number): SendOutcome => ({ kind: 'retryable', reason: 'HTTP 429', retryAfterMs });
    // Backoff waits would be 100, 200, 400: the first two are stretched, the third is longer than asked.
    backend.script = [throttled(1500), throttled(150), throttled(250)];
    queue.start();
    queue.enqueue(3);
    await settle();
    for (let i = 0; i < 3; i++) await clock.elapse();
    assert.deepStrictEqual(clock.waits, [1500, 200, 400]);
    assert.deepStrictEqual(backend.delivered, [3]);
    assert.equal(queue.dropped(), 0);
  });

  it('drops a batch whose Retry-After would end past max_elapsed_time', async () => {
    const { clock, backend, lines, queue } = setup({ retry: { maxElapsedTimeMs: 1000 } });
    backend.script = [{ kind: 'retryable', reason: 'HTTP 503', retryAfterMs: 5000 }];
    queue.start();
    queue.enqueue(6);
    queue.enqueue(1);
    await settle();
    assert.deepStrictEqual(clock.waits, []);
    assert.deepStrictEqual(backend.delivered, [1]);
    assert.equal(queue.dropped(), 6);
    assert.ok(lines.includes('DEBUG logs: gave up on a batch after 0ms of retries (retry_on_failure.max_elapsed_time)'));
  });

  it('drops at the first failure when retry_on_failure is disabled', async () => {
    const { clock, backend, lines, queue } = setup({ retry: { enabled: false } });
    backend.script = [DOWN];
    queue.start();
    queue.enqueue(2);
    queue.enqueue(7);
    await settle();
    assert.deepStrictEqual(clock.waits, []);
    assert.deepStrictEqual(backend.delivered, [7]);
    assert.equal(queue.dropped(), 2);
    assert.match(lines[0], /dropping batches until it is back \(retry_on_failure is disabled\)$/);
  });

  it('never retries a permanent rejection, and logs it once', async () => {
    const { clock, backend, lines, queue } = setup();
    backend.script = [REFUSED, REFUSED];
    queue.start();
    queue.enqueue(1);
    queue.enqueue(2);
    queue.enqueue(3);
    await settle();
    assert.deepStrictEqual(clock.waits, []);
    assert.deepStrictEqual(backend.attempts, [1, 2, 3]);
    assert.equal(queue.dropped(), 3);
    assert.deepStrictEqual(lines, [
      'WARN  logs: collector:4317 rejected a batch (INVALID_ARGUMENT: bad data); dropped its 1 log records without retrying, as retrying cannot help; further rejections are counted, not logged',
      'INFO  logs: collector:4317 accepts data again',
    ]);
  });

  it('treats a send that throws as a permanent failure', async () => {
    const { lines, queue } = setup({
      send: () => {
        throw new Error('cannot build credentials');
      },
    });
    queue.start();
    queue.enqueue(4);
    await settle();
    assert.equal(queue.dropped(), 4);
    assert.match(lines[0], /rejected a batch \(cannot build credentials\)/);
  });

  it('bounds the queue: a full queue drops its oldest batch and counts exactly the overflow', async () => {
    const { clock, backend, lines, queue } = setup({ capacity: 2 });
    backend.fallback = DOWN;
    queue.start();
    for (const batch of [1, 10, 100, 1000, 10000]) queue.enqueue(batch);
    await settle();
    // Batch 1 is being retried; 10 and 100 were the oldest waiting when 1000 and 10000 came.
    assert.equal(queue.dropped(), 110);
    assert.equal(queue.pending(), 3);
    assert.equal(lines.filter((l) => l.includes('sending queue full')).length, 1, 'one warning for the overflow');
    backend.fallback = { kind: 'sent' };
    await clock.elapse();
    assert.deepStrictEqual(backend.delivered, [1, 1000, 10000]);
    assert.equal(queue.pending(), 0);
    assert.match(lines.at(-1) ?? '', /110 log records were dropped since the last successful delivery$/);
  });

  it('bounds the queue by bytes too: the oldest waiting batches go until the new one fits', async () => {
    const { clock, backend, lines, queue } = setup({ capacity: 100, capacityBytes: 1000 });
    backend.fallback = DOWN;
    queue.start();
    // 1 is in flight (not counted); 300 + 400 wait (700 bytes); 500 needs 300 to go; 900 needs 400 and 500 to go.
    for (const batch of [1, 300, 400, 500, 900]) queue.enqueue(batch);
    await settle();
    assert.equal(queue.dropped(), 300 + 400 + 500);
    assert.equal(queue.pending(), 2);
    assert.deepStrictEqual(lines.filter((l) => l.includes('sending queue full')), [
      'WARN  logs: sending queue full (100 batches or 1000 bytes): collector:4317 is unreachable or not keeping up; dropping the oldest batch for each new one until a delivery succeeds',
    ]);
    // A batch larger than the bound still waits when it is alone.
    queue.enqueue(5000);
    await settle();
    assert.equal(queue.dropped(), 300 + 400 + 500 + 900);
    assert.equal(queue.pending(), 2);
    backend.fallback = { kind: 'sent' };
    await clock.elapse();
    assert.deepStrictEqual(backend.delivered, [1, 5000]);
  });

  it('joins a new batch to the newest waiting one when merge() says it fits, never to the one in flight', async () => {
    const clock = new FakeClock();
    const backend = new ScriptedBackend();
    backend.fallback = DOWN;
    const queue = new DeliveryQueue<number>({
      signal: 'logs',
      destination: 'collector:4317',
      capacity: 2,
      retry: RETRY,
      send: backend.send,
      countItems: (n) => n,
      // Batches join up to 10 items.
      merge: (waiting, next) => (waiting + next <= 10 ? waiting + next : undefined),
      logger: createLogger('debug', () => undefined),
      clock,
    });
    queue.start();
    for (const batch of [4, 3, 3, 4, 5, 1, 9]) queue.enqueue(batch);
    await settle();
    // 4 in flight; 3+3+4 = 10 waits; 5+1 = 6 waits; 9 does not fit 6: the queue is full (2), so 10 goes.
    assert.equal(queue.pending(), 3);
    assert.equal(queue.dropped(), 10);
    backend.fallback = { kind: 'sent' };
    await clock.elapse();
    assert.deepStrictEqual(backend.delivered, [4, 6, 9]);
  });

  it('never joins batches into one the byte bound would refuse: the oldest waiting goes instead', async () => {
    const clock = new FakeClock();
    const backend = new ScriptedBackend();
    backend.fallback = DOWN;
    const queue = new DeliveryQueue<number>({
      signal: 'logs',
      destination: 'collector:4317',
      capacity: 100,
      // Batch n weighs n bytes; 250 bytes may wait.
      capacityBytes: 250,
      sizeOf: (n) => n,
      retry: RETRY,
      send: backend.send,
      countItems: (n) => n,
      merge: (waiting, next) => waiting + next,
      logger: createLogger('debug', () => undefined),
      clock,
    });
    queue.start();
    // 1 in flight; 100 waits; +100 joins (200 <= 250); +100 would make 300: 200 is dropped, 100 waits; +100 joins.
    for (const batch of [1, 100, 100, 100, 100]) queue.enqueue(batch);
    await settle();
    assert.equal(queue.dropped(), 200);
    assert.equal(queue.pending(), 2);
    backend.fallback = { kind: 'sent' };
    await clock.elapse();
    assert.deepStrictEqual(backend.delivered, [1, 200]);
  });

  it('with lingerMs, holds a lone batch for more to join it, then sends them as one', async () => {
    const clock = new FakeClock();
    const backend = new ScriptedBackend();
    const queue = new DeliveryQueue<number>({
      signal: 'logs',
      destination: 'collector:4317',
      capacity: 10,
      retry: RETRY,
      send: backend.send,
      countItems: (n) => n,
      merge: (waiting, next) => (waiting + next <= 10 ? waiting + next : undefined),
      lingerMs: 20,
      full: (n) => n >= 10,
      logger: createLogger('debug', () => undefined),
      clock,
    });
    queue.start();
    queue.enqueue(2);
    clock.time = 5;
    queue.enqueue(3);
    await settle();
    assert.deepStrictEqual(backend.attempts, [], 'nothing sent yet');
    assert.deepStrictEqual(clock.waits, [20], 'waiting 20ms from the first arrival');
    await clock.elapse();
    assert.deepStrictEqual(backend.delivered, [5], 'the two as one');

    // A full batch goes at once; so does a lone one that a batch which cannot join it follows.
    queue.enqueue(10);
    await settle();
    assert.deepStrictEqual(backend.delivered, [5, 10]);
    queue.enqueue(8);
    await settle();
    assert.ok(clock.sleeping);
    queue.enqueue(4);
    await settle();
    assert.deepStrictEqual(backend.delivered, [5, 10, 8], '4 cannot join 8: 8 goes');
    assert.equal(queue.pending(), 1, '4 waits for company');

    // A flush, then a shutdown, do not wait.
    assert.equal(await queue.flush(5_000), true);
    assert.deepStrictEqual(backend.delivered, [5, 10, 8, 4]);
    queue.enqueue(1);
    await settle();
    assert.ok(clock.sleeping);
    assert.equal(await queue.shutdown(1_000), 0);
    assert.deepStrictEqual(backend.delivered, [5, 10, 8, 4, 1]);
  });

  it('counts the items a partial success rejected as dropped', async () => {
    const { backend, queue } = setup();
    backend.script = [{ kind: 'sent', rejected: 3 }, { kind: 'sent' }];
    queue.start();
    queue.enqueue(10);
    queue.enqueue(20);
    await settle();
    await settle();
    assert.deepStrictEqual(backend.delivered, [10, 20]);
    assert.equal(queue.dropped(), 3);
  });

  it('flush() retries at once and reports whether the queue emptied', async () => {
    const { clock, backend, queue } = setup();
    backend.script = [DOWN];
    queue.start();
    queue.enqueue(1);
    await settle();
    assert.ok(clock.sleeping, 'waiting 100ms before the retry');
    assert.equal(await queue.flush(5_000), true, 'the flush cut the wait short and the retry succeeded');
    assert.deepStrictEqual(backend.delivered, [1]);

    backend.fallback = DOWN;
    queue.enqueue(2);
    await settle();
    assert.equal(await queue.flush(5_000), false, 'a failed attempt ends the flush at once');
    assert.equal(queue.pending(), 1, 'the batch stays queued');
  });

  it('shutdown() delivers what is queued when the backend is up', async () => {
    const { backend, queue } = setup();
    queue.start();
    backend.script = [DOWN];
    for (const batch of [1, 2, 3]) queue.enqueue(batch);
    await settle();
    assert.equal(await queue.shutdown(1_000), 0);
    assert.deepStrictEqual(backend.delivered, [1, 2, 3]);
  });

  it('shutdown() gives up after one failed attempt when the backend is down', async () => {
    const { clock, backend, queue } = setup();
    backend.fallback = DOWN;
    queue.start();
    for (const batch of [1, 2, 4]) queue.enqueue(batch);
    await settle();
    assert.equal(await queue.shutdown(60_000), 7);
    assert.deepStrictEqual(backend.attempts, [1, 1], 'one attempt at shutdown, no more waits');
    assert.deepStrictEqual(clock.waits, [100]);
    assert.equal(queue.dropped(), 7);
  });

  it('shutdown() stops waiting for a hung send after its timeout', async () => {
    const { backend, queue } = setup();
    backend.hang = true;
    queue.start();
    queue.enqueue(5);
    queue.enqueue(6);
    // The send hangs forever: that shutdown returns at all shows the timeout cut it. The bound only
    // keeps a regression from hanging until the test runner's timeout.
    const started = Date.now();
    assert.equal(await queue.shutdown(50), 11);
    assert.ok(Date.now() - started < 20_000);
    assert.equal(queue.pending(), 0);
  });

  it('releases each batch once when it leaves for good, never one a send may still read', async () => {
    const released: number[] = [];
    const { backend, queue } = setup({ capacity: 2, release: (n) => released.push(n) });
    queue.start();
    queue.enqueue(1); // sent
    await settle();
    queue.enqueue(0); // empty: never sent, released at once
    backend.script = [REFUSED];
    queue.enqueue(2); // refused
    await settle();
    assert.deepStrictEqual(released, [1, 0, 2]);
    backend.hang = true;
    queue.enqueue(3); // in flight, never answered
    await settle();
    for (const n of [4, 5, 6]) queue.enqueue(n); // 4 dropped by the bound (capacity 2)
    assert.deepStrictEqual(released, [1, 0, 2, 4]);
    assert.equal(await queue.shutdown(50), 3 + 5 + 6);
    // 5 and 6 dropped at shutdown; 3 given up for lost while its send may still read it.
    assert.deepStrictEqual(released, [1, 0, 2, 4, 5, 6]);
    assert.equal(queue.dropped(), 2 + 4 + 3 + 5 + 6);

    const gaveUp: number[] = [];
    const other = setup({ retry: { enabled: false }, release: (n) => gaveUp.push(n) });
    other.backend.script = [DOWN];
    other.queue.start();
    other.queue.enqueue(7);
    await settle();
    assert.deepStrictEqual(gaveUp, [7]);
    assert.equal(other.queue.dropped(), 7);
    queue.enqueue(8); // after shutdown: dropped and released at once
    assert.deepStrictEqual(released, [1, 0, 2, 4, 5, 6, 8]);
  });

  it('counts what arrives after shutdown, and shutdown is idempotent', async () => {
    const { backend, queue } = setup();
    assert.equal(await queue.shutdown(10), 0, 'safe without start');
    queue.enqueue(9);
    assert.equal(queue.dropped(), 9);
    assert.equal(await queue.shutdown(10), 0);
    assert.deepStrictEqual(backend.attempts, []);
  });
});
