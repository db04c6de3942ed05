// The TypeScript view of bpf/tcp_handshake.h must equal what the C compiler lays out.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileLayout } from '../../../test/support/c_layout';
import type { FieldLayout } from '../tcp_lifecycle/layout';
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

const STRUCTS: Record<string, { size: number; fields: Record<string, FieldLayout> }> = {
  [EVENT_STRUCT]: { size: EVENT_SIZE, fields: EVENT_FIELDS },
  [STATS_KEY_STRUCT]: { size: STATS_KEY_SIZE, fields: STATS_KEY_FIELDS },
  [STATS_STRUCT]: { size: STATS_SIZE, fields: STATS_FIELDS },
};

test('tcp_handshake structs: TS offsets and sizes equal the compiled C layout', () => {
  const layout = compileLayout(
    'tcp_handshake.h',
    Object.fromEntries(Object.entries(STRUCTS).map(([name, s]) => [name, Object.keys(s.fields)])),
    Object.keys(CONSTANTS),
  );
  for (const [name, s] of Object.entries(STRUCTS)) {
    assert.equal(layout.sizes[name], s.size, `sizeof(struct ${name})`);
    for (const [field, f] of Object.entries(s.fields)) {
      assert.equal(layout.offsets[name][field], f.offset, `offsetof(struct ${name}, ${field})`);
      assert.equal(layout.fieldSizes[name][field], f.size, `sizeof(${name}.${field})`);
    }
  }
  assert.deepEqual(layout.constants, { ...CONSTANTS });
});
