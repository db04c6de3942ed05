// The event pump's back-pressure against a ring buffer the test controls: which batches go to the
// pipeline, when the reader is paused and resumed. No kernel and no clock: every step is an event
// the test makes happen (tcp_lifecycle_backpressure checks the same against the real ring buffer).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import type { RingReader } from '../../src/bridge/ring_reader';
import type { Consumer } from '../../src/component';
import { EventPump, MAX_BATCHES_IN_FLIGHT } from '../../src/receivers/common/event_pump';
import { recordingSettings } from '../support/recording-settings';

/** A ring reader that only records what the pump asks of it. */
class ControlledRing {
  readonly calls: string[] = [];
  closed = false;
  pause(): void {
    this.calls.push('pause');
  }
  resume(): void {
    this.calls.push('resume');
  }
  close(): void {
    this.closed = true;
  }
}

/** A pipeline whose every consume() waits until the test finishes it. */
class HeldConsumer implements Consumer<'logs'> {
  readonly batches: number[][] = [];
  private readonly release: (() => void)[] = [];
  consume(records: readonly ReadableLogRecord[]): Promise<void> {
    this.batches.push(records.map((r) => r.attributes.n as number));
    return new Promise((resolve) => this.release.push(resolve));
  }
  /** Finishes the oldest batch still held; resolves once the pump has seen it finish. */
  async finishOne(): Promise<void> {
    this.release.shift()!();
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** A batch as the addon hands it over: records framed as [u32 length][bytes], here one u32 each. */
function batch(values: readonly number[]): Buffer {
  const out = Buffer.alloc(8 * values.length);
  values.forEach((v, i) => {
    out.writeUInt32LE(4, 8 * i);
    out.writeUInt32LE(v, 8 * i + 4);
  });
  return out;
}

function pump(consumer: Consumer<'logs'>): { pump: EventPump; ring: ControlledRing; lines: string[] } {
  const settings = recordingSettings('tcp_lifecycle');
  const p = new EventPump(settings.logger, consumer, (b, offset) => ({ attributes: { n: b.readUInt32LE(offset) } }) as unknown as ReadableLogRecord);
  const ring = new ControlledRing();
  p.attach(ring as unknown as RingReader);
  return { pump: p, ring, lines: settings.lines };
}

test('the pump pauses the ring at 4 batches in flight and resumes it when one finishes', async () => {
  const consumer = new HeldConsumer();
  const { pump: p, ring } = pump(consumer);
  for (let i = 0; i < MAX_BATCHES_IN_FLIGHT - 1; i++) p.onBatch(batch([i]), 1, 0);
  assert.deepEqual(ring.calls, [], 'below the limit the reader keeps reading');
  p.onBatch(batch([3, 4]), 2, 0);
  assert.deepEqual(ring.calls, ['pause'], 'the fourth batch in flight pauses the reader');
  assert.deepEqual(consumer.batches, [[0], [1], [2], [3, 4]], 'every record of every batch, in order');

  await consumer.finishOne();
  assert.deepEqual(ring.calls, ['pause', 'resume'], 'one batch finished: reading resumes');
  p.onBatch(batch([5]), 1, 0);
  assert.deepEqual(ring.calls, ['pause', 'resume', 'pause'], 'full again: paused again');
  for (let i = 0; i < MAX_BATCHES_IN_FLIGHT; i++) await consumer.finishOne();
  assert.deepEqual(ring.calls, ['pause', 'resume', 'pause', 'resume'], 'resumed once, not once per finished batch');

  await p.settle();
  assert.equal(ring.closed, true, 'settle closes the ring, which hands over what is left');
});

test('a rejected batch still frees its place, and is logged', async () => {
  const failing: Consumer<'logs'> = { consume: () => Promise.reject(new Error('exporter down')) };
  const { pump: p, ring, lines } = pump(failing);
  for (let i = 0; i < MAX_BATCHES_IN_FLIGHT; i++) p.onBatch(batch([i]), 1, 0);
  await p.settle();
  assert.deepEqual(ring.calls, ['pause', 'resume']);
  assert.equal(lines.filter((l) => l.includes('logs pipeline rejected 1 events: exporter down')).length, MAX_BATCHES_IN_FLIGHT);
});

test('an empty wake-up makes no batch', async () => {
  const consumer = new HeldConsumer();
  const { pump: p, ring } = pump(consumer);
  p.onBatch(Buffer.alloc(0), 0, 0);
  assert.deepEqual(consumer.batches, []);
  assert.deepEqual(ring.calls, []);
});
