// The BTF reader against bpftool's reading of the same kernel BTF.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
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

test('a blob that is not BTF is refused with a typed error', () => {
  assert.throws(() => new KernelBtf(Buffer.alloc(64)), KernelBtfError);
});
