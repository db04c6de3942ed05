// File rotation and the directory bound: every file is a whole pcapng section (SHB, then every
// interface so far), a file is closed before it would pass max_file_bytes, and the directory
// keeps at most max_files tcpscope files, deleting the oldest, never anything else.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BLOCK_ENHANCED_PACKET, BLOCK_INTERFACE_DESCRIPTION, BLOCK_SECTION_HEADER, LINKTYPE_RAW } from './blocks';
import { PcapngFileSet, pruneCaptureDirectory } from './file_set';

function blockTypes(file: string): number[] {
  const bytes = readFileSync(file);
  const types: number[] = [];
  for (let at = 0; at < bytes.length; at += bytes.readUInt32LE(at + 4)) types.push(bytes.readUInt32LE(at));
  return types;
}

test('files rotate at max_file_bytes, each starting with the section header and the interfaces', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tcpscope-pcapng-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const set = new PcapngFileSet({ directory: dir, stem: 'x', maxFileBytes: 600, maxFiles: 10, header: { application: 'test' } });
  set.ensureFile();
  set.addInterface({ linkType: LINKTYPE_RAW, snaplen: 0, name: 'a' });
  const packet = { interfaceId: 0, timestampNs: 1n, data: Buffer.alloc(100, 0x45), originalLength: 100, direction: 'inbound' as const };
  for (let i = 0; i < 10; i++) set.writePacket(packet);
  set.close();
  const files = set.files;
  assert.ok(files.length >= 3, `${files.length} files`);
  let packets = 0;
  for (const file of files) {
    assert.ok(statSync(file).size <= 600, `${file} is ${statSync(file).size} bytes`);
    const types = blockTypes(file);
    assert.deepEqual(types.slice(0, 2), [BLOCK_SECTION_HEADER, BLOCK_INTERFACE_DESCRIPTION]);
    assert.ok(types.slice(2).every((type) => type === BLOCK_ENHANCED_PACKET));
    packets += types.length - 2;
  }
  assert.equal(packets, 10);
  assert.deepEqual(files.map((f) => f.slice(dir.length + 1)), files.map((_, i) => `tcpscope-x-${i + 1}.pcapng`));
});

test('the directory keeps max_files tcpscope files: the oldest go, other files and the kept ones stay', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tcpscope-pcapng-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const names = ['tcpscope-a-1.pcapng', 'tcpscope-b-1.pcapng', 'tcpscope-c-1.pcapng', 'tcpscope-d-1.pcapng', 'notes.txt', 'other.pcapng'];
  names.forEach((name, i) => {
    writeFileSync(join(dir, name), 'x');
    utimesSync(join(dir, name), 1000 + i, 1000 + i);
  });
  const removed = pruneCaptureDirectory(dir, 2, new Set([join(dir, 'tcpscope-a-1.pcapng')]));
  assert.deepEqual(removed, [join(dir, 'tcpscope-b-1.pcapng'), join(dir, 'tcpscope-c-1.pcapng')]);
  assert.deepEqual(readdirSync(dir).sort(), ['notes.txt', 'other.pcapng', 'tcpscope-a-1.pcapng', 'tcpscope-d-1.pcapng']);
});
