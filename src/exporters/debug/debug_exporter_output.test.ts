// The debug exporter against outputs that misbehave: a reader that stops reading (backed-up
// buffer) and a reader that goes away (EPIPE). The agent must neither wait on them nor die.
import { strict as assert } from 'node:assert';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { recordingSettings } from '../../../test/support/recording-settings';
import { sampleLogs, sampleMetrics } from '../../../test/support/telemetry-fixtures';
import { itemCount } from '../signal_counts';
import { DebugExporter, MAX_PENDING_BYTES } from './debug_exporter';

const host = { reportFatal: (e: Error) => assert.fail(`unexpected fatal: ${e.message}`) };

/** A writable that never completes a write: a pipe whose reader stopped reading. */
class NeverWritten extends Writable {
  writes = 0;
  constructor() {
    super({ highWaterMark: 16 });
  }
  override _write(_c: Buffer, _e: BufferEncoding, _done: () => void): void {
    this.writes++;
  }
}

/** A writable whose every write fails with EPIPE: a pipe whose reader is gone. */
class ClosedPipe extends Writable {
  override _write(_c: Buffer, _e: BufferEncoding, done: (error?: Error | null) => void): void {
    done(Object.assign(new Error('write EPIPE'), { code: 'EPIPE', errno: -32, syscall: 'write' }));
  }
}

describe('debug exporter output', () => {
  it('never waits on a blocked output: past the limit exports are dropped and counted, with one warning and no listener pile-up', async () => {
    const settings = recordingSettings('debug');
    const out = new NeverWritten();
    const exporter = new DebugExporter(settings, { verbosity: 'detailed' }, ['logs'], out);
    await exporter.start(host);
    const perExport = itemCount('logs', sampleLogs());
    let written = 0;
    let exports = 0;
    // Every consume resolves although nothing is ever written; bounded by count.
    for (; exports < 10_000 && out.writableLength <= MAX_PENDING_BYTES; exports++) {
      await exporter.consumers.logs!.consume(sampleLogs());
      written += perExport;
    }
    assert.ok(out.writableLength > MAX_PENDING_BYTES, 'the buffer filled up within the bound');
    for (let i = 0; i < 50; i++) await exporter.consumers.logs!.consume(sampleLogs());
    assert.deepEqual(exporter.droppedItems(), { metrics: 0, logs: 50 * perExport });
    assert.ok(written > 0);
    assert.ok(out.listenerCount('drain') <= 1, `drain listeners: ${out.listenerCount('drain')}`);
    assert.equal(settings.lines.filter((l) => l.includes('not being read fast enough')).length, 1);
    await exporter.shutdown(); // does not wait for the buffer
  });

  it('treats EPIPE as stdout gone: no uncaught error, one warning, every export counted as dropped', async () => {
    const settings = recordingSettings('debug');
    const out = new ClosedPipe();
    const exporter = new DebugExporter(settings, { verbosity: 'normal' }, ['metrics', 'logs'], out);
    await exporter.start(host);
    const logs = itemCount('logs', sampleLogs());
    const points = itemCount('metrics', sampleMetrics());
    for (let i = 0; i < 5; i++) {
      await exporter.consumers.logs!.consume(sampleLogs());
      await exporter.consumers.metrics!.consume(sampleMetrics());
      // Let the failed write's callback and 'error' event run.
      await new Promise((r) => setImmediate(r));
    }
    assert.deepEqual(exporter.droppedItems(), { metrics: 5 * points, logs: 5 * logs });
    const warnings = settings.lines.filter((l) => l.includes('stdout is gone'));
    assert.equal(warnings.length, 1, settings.lines.join('\n'));
    assert.match(warnings[0], /EPIPE.*keeps running/);
    await exporter.shutdown();
  });
});
