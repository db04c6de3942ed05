// max_attempts is sized against the locked memory it takes: the default from the measured bytes
// per entry of the preallocated attempts hash, and the same figure in the key's documentation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateComponentSettings } from '../../config/component_settings';
import { ATTEMPT_ENTRY_BYTES, DEFAULT_MAX_ATTEMPTS, tcpHandshakeSchema, type TcpHandshakeConfig } from './config';

const validate = (settings: Record<string, unknown>) =>
  validateComponentSettings(tcpHandshakeSchema, settings, ['receivers', 'tcp_handshake']) as TcpHandshakeConfig;

test('the default max_attempts takes 7.5 MiB of locked memory at the measured 120 bytes per entry', () => {
  assert.equal(ATTEMPT_ENTRY_BYTES, 120);
  assert.equal(validate({}).max_attempts, DEFAULT_MAX_ATTEMPTS);
  assert.equal(DEFAULT_MAX_ATTEMPTS * ATTEMPT_ENTRY_BYTES, 7.5 * 2 ** 20);
});

test('max_attempts says what it costs and what happens beyond it', () => {
  const doc = (tcpHandshakeSchema.max_attempts as { doc?: string }).doc ?? '';
  assert.match(doc, /120 bytes of locked kernel memory each, preallocated/);
  assert.match(doc, /a new one is not followed: its outcome is missing .* reason=attempt_untracked and logged once/);
  assert.doesNotMatch(doc, /LRU/);
});

test('max_attempts outside 1024..16777216 is refused', () => {
  assert.throws(() => validate({ max_attempts: 1023 }), /max_attempts: must be an integer from 1024 to 16777216, got 1023/);
});
