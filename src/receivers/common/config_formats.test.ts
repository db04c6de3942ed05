// The ring buffer size rule is the kernel's (kernel/bpf/ringbuf.c): a power of two and a multiple
// of the page size, within a 32-bit map size; the page size is the machine's.
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { integerBetween, MAX_RING_BUFFER_BYTES, pageSize, ringBufferSizeFormat } from './config_formats';

describe('ringBufferSizeFormat', () => {
  const cases: { page: number; accepted: number[]; refused: unknown[] }[] = [
    {
      page: 4096,
      accepted: [4096, 8192, 1 << 20, MAX_RING_BUFFER_BYTES],
      refused: [0, 2048, 6144, 12288, 4096.5, 2 ** 32, 2 ** 33, -4096, NaN, Infinity, '4096', null],
    },
    // arm64 kernels with 64 KiB pages refuse a 4 KiB ring buffer.
    { page: 65536, accepted: [65536, 1 << 20], refused: [4096, 32768, 98304] },
  ];
  for (const { page, accepted, refused } of cases) {
    const format = ringBufferSizeFormat(page);
    it(`with ${page}-byte pages accepts ${accepted.join(', ')}`, () => {
      for (const size of accepted) format(size);
    });
    it(`with ${page}-byte pages refuses ${refused.map(String).join(', ')}, naming the rule`, () => {
      for (const size of refused) {
        assert.throws(() => format(size), {
          message: `must be a power of two from ${page} (the page size) to 2147483648 bytes: the kernel takes only a power-of-two multiple of the page size, e.g. 1048576 for 1 MiB`,
        }, String(size));
      }
    });
  }

  it("reads this machine's page size from the aux vector", () => {
    const size = pageSize();
    assert.ok([4096, 16384, 65536].includes(size), `page size ${size}`);
    assert.equal(size & (size - 1), 0);
  });
});

describe('integerBetween', () => {
  it('says the range once, without the value (the config loader adds it)', () => {
    assert.throws(() => integerBetween(16, 1024)(5), { message: 'must be an integer from 16 to 1024' });
    assert.throws(() => integerBetween(16, 1024)(NaN), { message: 'must be an integer from 16 to 1024' });
    integerBetween(16, 1024)(1024);
  });
});
