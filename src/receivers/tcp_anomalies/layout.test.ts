// The TypeScript view of bpf/tcp_anomalies.h must equal what the C compiler lays out.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertLayoutMatches } from '../../../test/support/c_layout';
import * as L from './layout';

test('tcp_anomalies structs: TS offsets and sizes equal the compiled C layout', () => {
  assertLayoutMatches(
    'tcp_anomalies.h',
    {
      [L.EVENT_STRUCT]: { size: L.EVENT_SIZE, fields: L.EVENT_FIELDS },
      [L.STATS_KEY_STRUCT]: { size: L.STATS_KEY_SIZE, fields: L.STATS_KEY_FIELDS },
      [L.STATS_STRUCT]: { size: L.STATS_SIZE, fields: L.STATS_FIELDS },
    },
    L.CONSTANTS,
    assert.equal,
  );
});
