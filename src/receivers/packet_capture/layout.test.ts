// The TypeScript view of bpf/packet_capture.h must equal what the C compiler lays out.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileLayout } from '../../../test/support/c_layout';
import * as L from './layout';

test('packet_capture structs: TS offsets, sizes and constants equal the compiled C layout', () => {
  const fields = (o: Record<string, number>) => Object.keys(o).filter((k) => k !== 'size');
  const kernelConstants = Object.keys(L.CONSTANTS).filter((k) => k.startsWith('PACKET_CAPTURE_'));
  const c = compileLayout(
    'packet_capture.h',
    {
      packet_capture_settings: fields(L.SETTINGS),
      packet_capture_state: fields(L.STATE),
      packet_capture_record: Object.keys(L.RECORD),
      packet_capture_trigger_settings: fields(L.TRIGGER_SETTINGS),
      packet_capture_tuple_key: ['cgroup_id'],
      packet_capture_slot: ['timestamp_ns'],
      packet_capture_tuple: ["stored"],
    },
    kernelConstants,
  );
  assert.equal(c.sizes.packet_capture_settings, L.SETTINGS.size);
  assert.equal(c.sizes.packet_capture_state, L.STATE.size);
  assert.equal(c.sizes.packet_capture_trigger_settings, L.TRIGGER_SETTINGS.size);
  assert.equal(c.sizes.packet_capture_record, L.CONSTANTS.PACKET_CAPTURE_RECORD_HEADER + L.CONSTANTS.PACKET_CAPTURE_MAX_SNAP);
  assert.equal(c.sizes.packet_capture_tuple_key, L.TUPLE_KEY_SIZE);
  assert.equal(c.sizes.packet_capture_slot, L.SLOT_SIZE);
  assert.equal(c.sizes.packet_capture_tuple, L.TUPLE_SIZE);
  for (const [struct, layout] of [
    ['packet_capture_settings', L.SETTINGS],
    ['packet_capture_state', L.STATE],
    ['packet_capture_record', L.RECORD],
    ['packet_capture_trigger_settings', L.TRIGGER_SETTINGS],
  ] as const) {
    for (const field of fields(layout)) assert.equal(c.offsets[struct][field], (layout as Record<string, number>)[field], `${struct}.${field}`);
  }
  for (const name of kernelConstants) assert.equal(c.constants[name], (L.CONSTANTS as Record<string, number>)[name], name);
});
