// The TypeScript view of bpf/connection_sampling.h's settings must equal the compiled C layout.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertLayoutMatches } from '../../../test/support/c_layout';
import * as L from './sampling_layout';

test('sampling settings: TS offsets and sizes equal the compiled C layout', () => {
  assertLayoutMatches(
    'connection_sampling.h',
    {
      [L.SETTINGS_STRUCT]: { size: L.SETTINGS_SIZE, fields: L.SETTINGS_FIELDS },
      [L.POLICY_STRUCT]: { size: L.POLICY_SIZE, fields: L.POLICY_FIELDS },
    },
    L.CONSTANTS,
    assert.equal,
  );
});
