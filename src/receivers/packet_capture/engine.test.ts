// The capture service without a kernel: what it refuses before anything is loaded, its
// registration under the component id, and that an idle receiver starts and stops cleanly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateComponentSettings } from '../../config/component_settings';
import { createLogger } from '../../logger';
import { agentResource } from '../../resource';
import { CaptureError, captureServices } from './capture_api';
import { packetCaptureSchema, type PacketCaptureConfig } from './config';
import { PacketCaptureReceiver } from './receiver';

function receiver(dir: string, name: string): PacketCaptureReceiver {
  const config = validateComponentSettings(packetCaptureSchema, { directory: dir }, ['receivers', 'packet_capture']) as PacketCaptureConfig;
  return new PacketCaptureReceiver({ id: { type: 'packet_capture', name, text: `packet_capture/${name}` }, resource: agentResource({}), logger: createLogger('error') }, config, {});
}

const refusedWith = (code: string, message: RegExp) => (e: unknown) => e instanceof CaptureError && e.code === code && message.test(e.message);

test('before start and after shutdown a capture is refused; while started the receiver is found by its id', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tcpscope-engine-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const r = receiver(dir, 'unit');
  await assert.rejects(r.engine.start({ selection: { destinationPort: 80 } }), refusedWith('CAPTURE_FAILED', /packet_capture\/unit is not running/));
  assert.equal(captureServices.find('packet_capture/unit'), undefined);
  await r.start({ reportFatal: (e) => assert.fail(e) });
  assert.equal(captureServices.find('packet_capture/unit'), r.engine);
  assert.deepEqual(r.engine.list(), []);
  await assert.rejects(r.engine.start({ selection: {} }), refusedWith('CAPTURE_INVALID_REQUEST', /^selection names nothing/));
  await assert.rejects(r.engine.stop('cap-9'), refusedWith('CAPTURE_NOT_FOUND', /^no capture cap-9/));
  await assert.rejects(r.engine.finished('cap-9'), refusedWith('CAPTURE_NOT_FOUND', /^no capture cap-9/));
  assert.equal(r.engine.get('cap-9'), undefined);
  await r.shutdown();
  await r.shutdown();
  assert.equal(captureServices.find('packet_capture/unit'), undefined, 'unregistered at shutdown');
  await assert.rejects(r.engine.start({ selection: { destinationPort: 80 } }), refusedWith('CAPTURE_FAILED', /is not running/));
});
