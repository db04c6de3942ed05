// pcapng blocks byte by byte against the format (draft-ietf-opsawg-pcapng): block framing, the
// options tcpscope writes, nanosecond timestamps split in two 32-bit halves, epb_flags direction.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BLOCK_ENHANCED_PACKET, BLOCK_INTERFACE_DESCRIPTION, BLOCK_SECTION_HEADER, LINKTYPE_RAW, enhancedPacketBlock, interfaceDescriptionBlock, sectionHeaderBlock } from './blocks';

/** [code, value] of each option from `offset` to opt_endofopt. */
function options(block: Buffer, offset: number): [number, Buffer][] {
  const out: [number, Buffer][] = [];
  for (;;) {
    const code = block.readUInt16LE(offset);
    const length = block.readUInt16LE(offset + 2);
    if (code === 0) {
      assert.equal(length, 0);
      assert.equal(offset + 4, block.length - 4, 'opt_endofopt is the last option, right before the trailing length');
      return out;
    }
    out.push([code, block.subarray(offset + 4, offset + 4 + length)]);
    for (let pad = offset + 4 + length; pad < offset + 4 + ((length + 3) & ~3); pad++) assert.equal(block[pad], 0, 'option padding is zero');
    offset += 4 + ((length + 3) & ~3);
  }
}

function framing(block: Buffer, type: number): void {
  assert.equal(block.readUInt32LE(0), type);
  assert.equal(block.readUInt32LE(4), block.length);
  assert.equal(block.readUInt32LE(block.length - 4), block.length);
  assert.equal(block.length % 4, 0);
}

test('section header block: byte-order magic, version 1.0, unknown section length, hardware / os / application / comments', () => {
  const shb = sectionHeaderBlock({ application: 'tcpscope 1.2.3', os: 'Linux 6.18', hardware: 'node-a', comments: ['capture cap-1', 'selection x'] });
  framing(shb, BLOCK_SECTION_HEADER);
  assert.equal(shb.readUInt32LE(8), 0x1a2b3c4d);
  assert.deepEqual([shb.readUInt16LE(12), shb.readUInt16LE(14)], [1, 0]);
  assert.equal(shb.readBigInt64LE(16), -1n);
  assert.deepEqual(
    options(shb, 24).map(([code, value]) => [code, value.toString()]),
    [
      [2, 'node-a'],
      [3, 'Linux 6.18'],
      [4, 'tcpscope 1.2.3'],
      [1, 'capture cap-1'],
      [1, 'selection x'],
    ],
  );
});

test('interface description block: link type, snaplen, name, description, if_tsresol 9 (nanoseconds)', () => {
  const idb = interfaceDescriptionBlock({ linkType: LINKTYPE_RAW, snaplen: 4096, name: 'cgroup:42', description: 'pod a' });
  framing(idb, BLOCK_INTERFACE_DESCRIPTION);
  assert.deepEqual([idb.readUInt16LE(8), idb.readUInt16LE(10), idb.readUInt32LE(12)], [101, 0, 4096]);
  assert.deepEqual(
    options(idb, 16).map(([code, value]) => [code, code === 9 ? [...value] : value.toString()]),
    [
      [2, 'cgroup:42'],
      [3, 'pod a'],
      [9, [9]],
    ],
  );
});

test('enhanced packet block: interface, 64-bit nanosecond timestamp in two halves, lengths, padded data, epb_flags direction, comment', () => {
  const data = Buffer.from([0x45, 1, 2, 3, 4]);
  const ts = 1_700_000_000_123_456_789n;
  for (const [direction, bits] of [['inbound', 1], ['outbound', 2], ['unknown', 0]] as const) {
    const epb = enhancedPacketBlock({ interfaceId: 3, timestampNs: ts, data, originalLength: 1500, direction, comment: direction === 'inbound' ? 'trigger: reset' : undefined });
    framing(epb, BLOCK_ENHANCED_PACKET);
    assert.equal(epb.readUInt32LE(8), 3);
    assert.equal((BigInt(epb.readUInt32LE(12)) << 32n) | BigInt(epb.readUInt32LE(16)), ts);
    assert.deepEqual([epb.readUInt32LE(20), epb.readUInt32LE(24)], [5, 1500]);
    assert.deepEqual(epb.subarray(28, 33), data);
    assert.deepEqual([...epb.subarray(33, 36)], [0, 0, 0], 'data padded to 32 bits with zeros');
    const opts = options(epb, 36);
    assert.deepEqual(opts[0], [2, Buffer.from([bits, 0, 0, 0])]);
    if (direction === 'inbound') assert.deepEqual(opts[1], [1, Buffer.from('trigger: reset')]);
    else assert.equal(opts.length, 1);
  }
});
