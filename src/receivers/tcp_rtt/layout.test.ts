// The TypeScript view of bpf/tcp_rtt.h must equal what the C compiler lays out.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertLayoutMatches } from '../../../test/support/c_layout';
import { INDEX_OFFSET, KERNEL_SCALE } from './buckets';
import * as L from './layout';

test('tcp_rtt structs: TS offsets and sizes equal the compiled C layout', () => {
  assertLayoutMatches(
    'tcp_rtt.h',
    {
      [L.KEY_STRUCT]: { size: L.KEY_SIZE, fields: L.KEY_FIELDS },
      [L.HISTOGRAM_STRUCT]: { size: L.HISTOGRAM_SIZE, fields: L.HISTOGRAM_FIELDS },
    },
    L.CONSTANTS,
    assert.equal,
  );
  assert.equal(L.CONSTANTS.TCP_RTT_INDEX_OFFSET, INDEX_OFFSET);
  assert.equal(L.CONSTANTS.TCP_RTT_SCALE, KERNEL_SCALE);
});
