// The bridge's plain-C parts, compiled on their own with AddressSanitizer and driven with
// stand-ins: the libbpf log tail never writes past its buffer, and the key walk over maps
// without batch lookups skips deleted keys, reports failed lookups and never spins; the ring
// walk copies wrapped records whole and steps over discarded and busy ones as the kernel means.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../../src/paths';

interface TailResult {
  length: number;
  text: string;
  terminated: boolean;
}
interface WalkResult {
  result: number;
  nextCalls: number;
  keys: number[];
  values: number[];
}
interface RingResult {
  start: number;
  endPos: number;
  records: number;
  framedBytes: number;
  frames: string;
}
interface Results {
  halfTwice: TailResult;
  lines: TailResult;
  many: TailResult;
  plain: WalkResult;
  deletedMeanwhile: WalkResult;
  failingLookup: WalkResult;
  keysKeepChanging: WalkResult;
  ringAll: RingResult;
  ringFirstTwo: RingResult;
  EIO: number;
  EAGAIN: number;
}

function run(): Results {
  const dir = mkdtempSync(join(tmpdir(), 'tcpscope-native-units-'));
  try {
    const binary = join(dir, 'native_units');
    execFileSync(
      'cc',
      ['-std=gnu11', '-Wall', '-Wextra', '-Werror', '-g', '-fsanitize=address,undefined', '-fno-sanitize-recover=all', '-I', join(PACKAGE_ROOT, 'native', 'src'),
        join(PACKAGE_ROOT, 'test', 'fixtures', 'native', 'native_units.c'), '-o', binary],
      { stdio: 'pipe' },
    );
    // AddressSanitizer aborts with a report (non-zero exit, execFileSync throws) on any overflow.
    return JSON.parse(execFileSync(binary, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })) as Results;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const results = run();

test('the libbpf log tail keeps the end of the text, NUL-terminated inside its buffer', () => {
  // 16 bytes: one message keeps at most 7 (half, less the NUL); older text is cut to its last 8.
  assert.deepEqual(results.halfTwice, { length: 14, text: 'bcdefghjklmnop', terminated: true });
  assert.deepEqual(results.lines, { length: 13, text: 'o\nthree\nfour\n', terminated: true });
  assert.ok(results.many.length < 64 && results.many.terminated, `a thousand appends stay inside 64 bytes (${results.many.length})`);
});

test('the key walk reads every entry, skipping keys deleted meanwhile', () => {
  assert.deepEqual(results.plain, { result: 3, nextCalls: 4, keys: [0, 1, 2], values: [100, 101, 102] });
  assert.deepEqual(results.deletedMeanwhile.keys, [0, 1, 3, 4]);
  assert.deepEqual(results.deletedMeanwhile.values, [100, 101, 103, 104]);
});

test('a failing lookup is reported, not retried forever', () => {
  assert.equal(results.failingLookup.result, -results.EIO);
  assert.equal(results.failingLookup.nextCalls, 2, 'stopped at the first failure');
});

test('a walk whose keys keep changing gives up after 2 * max_entries + 16 steps with EAGAIN', () => {
  assert.equal(results.keysKeepChanging.result, -results.EAGAIN);
  assert.equal(results.keysKeepChanging.nextCalls, 2 * 16 + 16);
});

/** Framed records as the ring walk writes them: [u32 length LE][payload], payload byte j of
 * record i being (i * 31 + j) & 0xff (as the fixture's fake kernel writes them). */
function framed(records: ReadonlyArray<readonly [index: number, length: number]>): string {
  const parts = records.map(([index, length]) => {
    const frame = Buffer.alloc(4 + length);
    frame.writeUInt32LE(length, 0);
    for (let j = 0; j < length; j++) frame[4 + j] = (index * 31 + j) & 0xff;
    return frame;
  });
  return Buffer.concat(parts).toString('hex');
}

test('the ring walk copies committed records, wrapped ones in two pieces, and stops at a busy one', () => {
  // 240 + 32 (20 bytes) + 48 (37, discarded) + 72 (60) + 16 (5) = 408, where the busy record starts.
  assert.deepEqual(results.ringAll, { start: 240, endPos: 408, records: 3, framedBytes: 3 * 4 + 20 + 60 + 5, frames: framed([[0, 20], [2, 60], [3, 5]]) });
});

test('the ring walk stops at max records, stepping over discarded ones on its way', () => {
  assert.deepEqual(results.ringFirstTwo, { start: 240, endPos: 392, records: 2, framedBytes: 2 * 4 + 20 + 60, frames: framed([[0, 20], [2, 60]]) });
});
