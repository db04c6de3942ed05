// The file exporter on a disk that fills up: a real tmpfs of 64 KiB mounted by the test. A write
// that fails part-way must leave the file valid JSONL (no partial line, nothing glued to one),
// count what it dropped, and writing must work again once space is freed.
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { recordingSettings } from '../../../test/support/recording-settings';
import { sampleLogs } from '../../../test/support/telemetry-fixtures';
import { FileExporter } from './file_exporter';

const host = { reportFatal: (e: Error) => assert.fail(`unexpected fatal: ${e.message}`) };

/** Log batches of varying size, so that writes end at arbitrary offsets within a page. */
function batch(i: number): ReadableLogRecord[] {
  const records = sampleLogs();
  const copies = 1 + (i % 4);
  return Array.from({ length: copies }, () => records).flat();
}

test('a full disk leaves valid JSONL behind, counts every dropped record, and writing resumes when space is freed', async (t) => {
  if (process.getuid?.() !== 0) {
    t.skip('needs root to mount a tmpfs (run as root; CI does)');
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'tcpscope-fulldisk-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tcpscope-test', dir]);
  t.after(() => {
    try {
      execFileSync('umount', [dir]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  // Filler taking a third of the space, removed later to give the exporter room again.
  const filler = join(dir, 'filler');
  writeFileSync(filler, Buffer.alloc(20 * 1024, 1));
  const path = join(dir, 'out.jsonl');
  const settings = recordingSettings('file');
  // flush_interval far away: every write happens at the forceFlush() calls below.
  const exporter = new FileExporter(settings, { path, flushIntervalMs: 3_600_000 }, ['logs']);
  await exporter.start(host);

  let sent = 0;
  let failures = 0;
  let i = 0;
  // Until the disk has refused a few writes (bounded: 64 KiB holds far fewer than 2000 batches).
  for (; i < 2000 && failures < 5; i++) {
    const records = batch(i);
    sent += records.length;
    await exporter.consumers.logs!.consume(records);
    await exporter.forceFlush().catch(() => failures++);
  }
  assert.equal(failures, 5, `the disk filled up within ${i} batches`);
  assert.ok(exporter.droppedItems().logs > 0);

  unlinkSync(filler);
  let resumed = 0;
  for (let j = 0; j < 10; j++, i++) {
    const records = batch(i);
    sent += records.length;
    await exporter.consumers.logs!.consume(records);
    await exporter.forceFlush().then(() => resumed++, () => undefined);
  }
  assert.ok(resumed > 0, 'writes succeed again once space is freed');
  await exporter.shutdown();

  const text = readFileSync(path, 'utf8');
  assert.ok(text.endsWith('\n'), 'the file ends with a complete line');
  let delivered = 0;
  for (const [n, line] of text.split('\n').slice(0, -1).entries()) {
    let request: { resourceLogs: { scopeLogs: { logRecords: unknown[] }[] }[] };
    try {
      request = JSON.parse(line) as typeof request;
    } catch (error) {
      assert.fail(`line ${n + 1} is not JSON (${(error as Error).message}): ${line.slice(0, 80)}…`);
    }
    for (const r of request.resourceLogs) for (const s of r.scopeLogs) delivered += s.logRecords.length;
  }
  const { logs: dropped } = exporter.droppedItems();
  assert.equal(delivered + dropped, sent, `delivered ${delivered} + dropped ${dropped} = sent ${sent}`);
});

test('a partial last line left by an earlier run is cut off at start', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tcpscope-partial-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'out.jsonl');
  writeFileSync(path, '{"resourceLogs":[]}\n{"resourceLo');
  const settings = recordingSettings('file');
  const exporter = new FileExporter(settings, { path, flushIntervalMs: 3_600_000 }, ['logs']);
  await exporter.start(host);
  await exporter.consumers.logs!.consume(sampleLogs());
  await exporter.shutdown();
  const lines = readFileSync(path, 'utf8').split('\n');
  assert.equal(lines.length, 3);
  assert.equal(lines[0], '{"resourceLogs":[]}');
  assert.doesNotThrow(() => JSON.parse(lines[1]));
  assert.equal(lines[2], '');
  assert.deepEqual(settings.lines, ['WARN  file: removed a partial last line (12 bytes) from ' + path + ', left by an earlier run']);
});
