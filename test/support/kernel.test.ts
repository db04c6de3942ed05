import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isCi } from './kernel';

test('any truthy CI means CI; unset, empty, 0, false, no and off do not', () => {
  for (const value of ['true', 'TRUE', '1', 'yes', 'on', 'github-actions', ' true ']) assert.equal(isCi(value), true, `CI=${JSON.stringify(value)}`);
  for (const value of [undefined, '', ' ', '0', 'false', 'False', 'no', 'off']) assert.equal(isCi(value), false, `CI=${JSON.stringify(value)}`);
});
