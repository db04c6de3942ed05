// The README's "Tested kernels" table is the one the last kernel matrix run wrote to
// docs/kernels.md (npm run test:kernels regenerates both); and the report reads the guests' result
// lines into the table the way the matrix means them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../../src/paths';
import { BEGIN, END, generatedBlock, kernelsDoc, parseGuestRun, passed, replaceBlock, requirementsTable } from '../../scripts/kernel-matrix-report';

test("README.md's tested kernels table is docs/kernels.md's, from the last matrix run", () => {
  const readme = readFileSync(join(PACKAGE_ROOT, 'README.md'), 'utf8');
  const doc = readFileSync(join(PACKAGE_ROOT, 'docs', 'kernels.md'), 'utf8');
  assert.equal(generatedBlock(readme, 'README.md'), generatedBlock(doc, 'docs/kernels.md'), 'README.md differs from docs/kernels.md: run npm run docs:kernels (or npm run test:kernels for a new run)');
});

const RESULTS_6_1 = [
  'KMATRIX {"check":"boot","ok":true,"guest_s":5.6,"release":"6.1.0-57-amd64"}',
  'noise from a serial port',
  'KMATRIX {"check":"agent","ok":true,"s":40.1,"agent_start_s":38.5,"turned_off":""}',
  'KMATRIX {"check":"lifecycle","ok":true,"s":12}',
  'KMATRIX {"check":"handshake refused","ok":true,"s":3}',
  'KMATRIX {"check":"handshake timeout","ok":false,"s":9,"error":"ETIMEDOUT expected"}',
  'KMATRIX {"check":"rtt","ok":true,"s":5}',
  'KMATRIX {"check":"file exporter","ok":true,"s":2}',
  'KMATRIX {"check":"degradation: x","ok":true,"skipped":true,"s":0}',
  'KMATRIX {"check":"suite","ok":false,"guest_s":90.2}',
  'KMATRIX {"check":"guest","wall_s":120,"status":0}',
].join('\n');

test('a guest run is read from its result lines: timings, failures, skipped and extra checks', () => {
  const run = parseGuestRun('6.1', RESULTS_6_1);
  assert.equal(run.release, '6.1.0-57-amd64');
  assert.equal(run.bootSeconds, 5.6);
  assert.equal(run.agentStartSeconds, 38.5);
  assert.equal(run.wallSeconds, 120);
  assert.equal(run.endSeconds, 90.2);
  assert.deepEqual(run.turnedOff, []);
  assert.equal(run.checks.get('handshake timeout')?.error, 'ETIMEDOUT expected');
  assert.equal(passed(run), false);
  assert.equal(
    requirementsTable([run]),
    [
      '| check | Linux 6.1 (Debian 12 bookworm) |',
      '|---|---|',
      '| agent | pass |',
      '| lifecycle | pass |',
      '| handshake refused | pass |',
      '| handshake timeout | FAIL |',
      '| rtt | pass |',
      '| file exporter | pass |',
      '| degradation: x | skipped |',
    ].join('\n'),
  );
});

test('a guest that never reported is a failure of every check, and a host without its image is not booted', () => {
  const dead = parseGuestRun('5.10', 'KMATRIX {"check":"guest","wall_s":900,"status":124}\n');
  assert.equal(passed(dead), false);
  assert.match(dead.bootError ?? '', /did not boot/);
  const host = parseGuestRun('host', 'KMATRIX {"check":"boot","ok":false,"skipped":true,"release":"6.18.0","error":"no /boot/vmlinuz-6.18.0"}\n');
  assert.equal(passed(host), true);
  const doc = kernelsDoc([dead, host], new Date(0));
  assert.match(doc, /\| 5\.10 \| - \| - \| - \| - \| 900\.0 s \| FAIL \(timed out\) \|/);
  assert.match(doc, /\| host \| 6\.18\.0 \| .* \| not booted \|/);
  assert.ok(!generatedBlock(doc, 'doc').includes('host'), 'the README table has no host column');
});

test('only the text between the markers is replaced; a text without them is an error naming them', () => {
  const text = `a\n${BEGIN}\nold\n${END}\nb\n`;
  assert.equal(replaceBlock(text, `${BEGIN}\nnew $& $1\n${END}`, 'x'), `a\n${BEGIN}\nnew $& $1\n${END}\nb\n`);
  // In a list item: read without, written with the item's indentation.
  const item = `- x:\n\n  ${BEGIN}\n  | a |\n  ${END}\n`;
  assert.equal(generatedBlock(item, 'x'), `${BEGIN}\n| a |\n${END}`);
  assert.equal(replaceBlock(item, `${BEGIN}\n| b |\n${END}`, 'x'), `- x:\n\n  ${BEGIN}\n  | b |\n  ${END}\n`);
  assert.throws(() => generatedBlock('no table', 'README.md'), /README.md has no kernel matrix table: it needs the lines <!-- kernel-matrix:begin/);
});
