import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KernelSymbols } from './kernel_symbols';

const KALLSYMS = [
  'ffffffff81000000 T _stext',
  'ffffffff81000100 t tcp_reset',
  'ffffffff81000200 D some_data',
  'ffffffffc0001000 t mod_func\t[veth]',
  'ffffffff81000180 W weak_one',
  '0000000000000000 T hidden',
  'garbage',
].join('\n');

test('names addresses by the nearest text symbol below them, modules and unsorted lines included', () => {
  const symbols = KernelSymbols.parse(KALLSYMS);
  assert.equal(symbols.size, 4, 'text and weak symbols with an address');
  assert.equal(symbols.name(0xffffffff81000104n), 'tcp_reset+0x4');
  assert.equal(symbols.name(0xffffffff81000180n), 'weak_one+0x0');
  assert.equal(symbols.name(0xffffffff81000250n), 'weak_one+0xd0', 'data symbols are not frames');
  assert.equal(symbols.name(0xffffffffc0001010n), 'mod_func+0x10');
  assert.equal(symbols.name(0xffffffff80000000n), '0xffffffff80000000', 'below every symbol: the address');
});

test('hidden addresses (kptr_restrict) leave frames as addresses', () => {
  const symbols = KernelSymbols.parse('0000000000000000 T _stext\n0000000000000000 t tcp_reset\n');
  assert.equal(symbols.size, 0);
  assert.equal(symbols.name(0xffffffff81000104n), '0xffffffff81000104');
});
