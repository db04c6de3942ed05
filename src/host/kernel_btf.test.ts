// The BTF reader against bpftool's reading of the same kernel BTF.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KernelBtf, KernelBtfError } from './kernel_btf';

const VMLINUX = '/sys/kernel/btf/vmlinux';

function bpftoolEnum(name: string): Map<number, string> {
  const dump = execFileSync('bpftool', ['btf', 'dump', 'file', VMLINUX, 'format', 'c'], { encoding: 'utf8', maxBuffer: 1 << 30 });
  const start = dump.indexOf(`enum ${name} {`);
  const body = dump.slice(start, dump.indexOf('};', start));
  const values = new Map<number, string>();
  for (const m of body.matchAll(/\t(\w+) = (\d+),/g)) values.set(Number(m[2]), m[1]);
  return values;
}

test('enum values and tracepoint arguments equal what bpftool reads from the kernel BTF', (t) => {
  if (!existsSync(VMLINUX)) return t.skip('no kernel BTF');
  const btf = KernelBtf.load()!;
  for (const name of ['sk_rst_reason', 'tcp_ca_state']) {
    const mine = btf.enumValues(name);
    assert.ok(mine && mine.size > 3, name);
    assert.deepEqual(mine, bpftoolEnum(name), name);
  }
  assert.equal(btf.enumValues('no_such_enum_here'), undefined);
  assert.equal(btf.tracepointArguments('tcp_receive_reset'), 1);
  assert.equal(btf.tracepointArguments('sock_exceed_buf_limit'), 4);
  assert.equal(btf.tracepointArguments('no_such_tracepoint'), undefined);
});

test('a file that is not BTF is refused with a typed error naming it; a missing one is no BTF', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tcpscope-btf-test-'));
  try {
    const path = join(dir, 'zeros');
    writeFileSync(path, Buffer.alloc(64));
    assert.throws(() => KernelBtf.load(path), (e: unknown) => e instanceof KernelBtfError && e.message.startsWith(`${path}: not readable as BTF`));
    assert.equal(KernelBtf.load(join(dir, 'absent')), undefined);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a closed BTF refuses questions', (t) => {
  const btf = KernelBtf.load();
  if (!btf) return t.skip('no kernel BTF');
  btf.close();
  assert.throws(() => btf.hasStruct('sock'), KernelBtfError);
});
