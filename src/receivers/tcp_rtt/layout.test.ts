import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileLayout } from '../../../test/support/c_layout';
import type { FieldLayout } from '../tcp_lifecycle/layout';
import { INDEX_OFFSET, KERNEL_SCALE } from './buckets';
import { CONSTANTS, HISTOGRAM_FIELDS, HISTOGRAM_SIZE, HISTOGRAM_STRUCT, KEY_FIELDS, KEY_SIZE, KEY_STRUCT } from './layout';

const STRUCTS: Record<string, { size: number; fields: Record<string, FieldLayout> }> = {
  [KEY_STRUCT]: { size: KEY_SIZE, fields: KEY_FIELDS },
  [HISTOGRAM_STRUCT]: { size: HISTOGRAM_SIZE, fields: HISTOGRAM_FIELDS },
};

test('tcp_rtt structs: TS offsets and sizes equal the compiled C layout', () => {
  const layout = compileLayout(
    'tcp_rtt.h',
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
  assert.equal(CONSTANTS.TCP_RTT_INDEX_OFFSET, INDEX_OFFSET);
  assert.equal(CONSTANTS.TCP_RTT_SCALE, KERNEL_SCALE);
});
