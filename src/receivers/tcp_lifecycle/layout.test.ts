// The TypeScript view of bpf/tcp_lifecycle.h must equal what the C compiler lays out.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertLayoutMatches } from '../../../test/support/c_layout';
import {
  CONSTANTS,
  EVENT_FIELDS,
  EVENT_SIZE,
  EVENT_STRUCT,
  STATS_FIELDS,
  STATS_KEY_FIELDS,
  STATS_KEY_SIZE,
  STATS_KEY_STRUCT,
  STATS_SIZE,
  STATS_STRUCT,
} from './layout';

test('tcp_lifecycle structs: TS offsets and sizes equal the compiled C layout', () => {
  assertLayoutMatches(
    'tcp_lifecycle.h',
    {
      [EVENT_STRUCT]: { size: EVENT_SIZE, fields: EVENT_FIELDS },
      [STATS_KEY_STRUCT]: { size: STATS_KEY_SIZE, fields: STATS_KEY_FIELDS },
      [STATS_STRUCT]: { size: STATS_SIZE, fields: STATS_FIELDS },
    },
    CONSTANTS,
    assert.equal,
  );
});

test('every byte of the event is covered by a field or is explicit padding', () => {
  const covered = new Array<boolean>(EVENT_SIZE).fill(false);
  for (const f of Object.values(EVENT_FIELDS)) for (let i = f.offset; i < f.offset + f.size; i++) covered[i] = true;
  assert.deepEqual(covered.map((c, i) => (c ? -1 : i)).filter((i) => i >= 0), []);
});
