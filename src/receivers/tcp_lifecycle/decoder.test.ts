// Golden test: records captured from the kernel (testdata/events.hex, one record per line:
// connect/accept/close of a v4-mapped and an IPv6 loopback connection carrying 33 bytes one way
// and 77 the other) decode to testdata/events.golden.json. Regenerate with UPDATE_GOLDEN=1.
// The records were captured before the kernel appended connection_hash: its 8 bytes were appended
// to each line afterwards, written as the kernel writes them (test/kernel/sampling_pushdown_hash
// checks that against real records), from the sampling processor's hash of the record's tuple.
// The end byte (and its 7 bytes of padding) was appended to each line the same way: 1 (fin) on the
// close records, as the kernel writes it for these orderly closes (test/kernel/tcp_lifecycle_end
// checks fin on both ends of such a connection), 0 on the others.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../../paths';
import { decodeLifecycleEvent, DecodeError } from './decoder';
import { CONSTANTS, EVENT_FIELDS, EVENT_SIZE } from './layout';
import { connectionUnit } from '../../processors/sampling/connection_hash';

const TESTDATA = join(PACKAGE_ROOT, 'src', 'receivers', 'tcp_lifecycle', 'testdata');

const asJson = (value: unknown) => JSON.parse(JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)));

test('kernel-captured records decode to the golden file', () => {
  const records = readFileSync(join(TESTDATA, 'events.hex'), 'utf8').trim().split('\n').map((h) => Buffer.from(h, 'hex'));
  const decoded = asJson(records.map((r) => decodeLifecycleEvent(r, 0, r.length)));
  const goldenPath = join(TESTDATA, 'events.golden.json');
  if (process.env.UPDATE_GOLDEN) writeFileSync(goldenPath, JSON.stringify(decoded, null, 2) + '\n');
  assert.deepEqual(decoded, JSON.parse(readFileSync(goldenPath, 'utf8')));
});

test('golden records say what the capture did', () => {
  const golden = JSON.parse(readFileSync(join(TESTDATA, 'events.golden.json'), 'utf8')) as {
    kind: string;
    role: string;
    local: { type: string };
    close?: { bytesSent: string; bytesReceived: string };
  }[];
  assert.deepEqual(golden.map((e) => e.kind).sort(), ['accept', 'accept', 'close', 'close', 'close', 'close', 'connect', 'connect']);
  assert.deepEqual(golden.map((e) => e.local.type).sort(), ['ipv4', 'ipv4', 'ipv4', 'ipv4', 'ipv6', 'ipv6', 'ipv6', 'ipv6']);
  const bytes = golden.filter((e) => e.close).map((e) => `${e.role}:${e.close!.bytesSent}/${e.close!.bytesReceived}`).sort();
  assert.deepEqual(bytes, ['client:33/77', 'client:33/77', 'server:77/33', 'server:77/33']);
  const ends = golden.filter((e) => e.close).map((e) => (e.close as { end?: string }).end);
  assert.deepEqual(ends, ['fin', 'fin', 'fin', 'fin']);
});

test('golden records: the four records of each connection carry one connection hash, the processor\'s', () => {
  const records = readFileSync(join(TESTDATA, 'events.hex'), 'utf8').trim().split('\n').map((h) => Buffer.from(h, 'hex'));
  const events = records.map((r) => decodeLifecycleEvent(r, 0, r.length));
  for (const e of events) {
    assert.equal(e.connectionHash, connectionUnit({ address: e.local.text, port: e.localPort }, { address: e.peer.text, port: e.peerPort }));
  }
  assert.equal(new Set(events.map((e) => e.connectionHash)).size, 2, 'two connections, one hash each');
  const absent = Buffer.from(records[0]);
  absent.fill(0, EVENT_FIELDS.connection_hash.offset, EVENT_FIELDS.connection_hash.offset + 8);
  assert.equal(decodeLifecycleEvent(absent, 0, EVENT_SIZE).connectionHash, undefined, 'a record without it decodes, without it');
});

test('a record of the wrong size or kind is a DecodeError', () => {
  assert.throws(() => decodeLifecycleEvent(Buffer.alloc(EVENT_SIZE - 8), 0, EVENT_SIZE - 8), DecodeError);
  assert.throws(() => decodeLifecycleEvent(Buffer.alloc(EVENT_SIZE), 0, EVENT_SIZE), /unknown tcp_lifecycle event kind 0/);
  const close = Buffer.alloc(EVENT_SIZE);
  close[EVENT_FIELDS.kind.offset] = CONSTANTS.TCP_LIFECYCLE_EVENT_CLOSE;
  assert.throws(() => decodeLifecycleEvent(close, 0, EVENT_SIZE), /close event with unknown end 0/);
  close[EVENT_FIELDS.end.offset] = CONSTANTS.TCP_LIFECYCLE_ENDS;
  assert.throws(() => decodeLifecycleEvent(close, 0, EVENT_SIZE), /close event with unknown end 6/);
});
