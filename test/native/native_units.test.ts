// The bridge's plain-C parts, compiled on their own with AddressSanitizer and driven with
// stand-ins: the libbpf log tail never writes past its buffer, and the key walk over maps
// without batch lookups skips deleted keys, reports failed lookups and never spins.
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
interface Results {
  halfTwice: TailResult;
  lines: TailResult;
  many: TailResult;
  plain: WalkResult;
  deletedMeanwhile: WalkResult;
  failingLookup: WalkResult;
  keysKeepChanging: WalkResult;
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
