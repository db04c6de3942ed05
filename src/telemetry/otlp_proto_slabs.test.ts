// Requests written into reusable slabs: the same bytes as a request in a buffer of its own,
// adjacent in their slab, the slab reused only once every request in it is released, and never
// overwritten while one of them is held.
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { resourceFromAttributes } from '@opentelemetry/resources';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { OtlpLogsProtoEncoder } from './otlp_proto_logs';
import { RequestSlabs, SLAB_BYTES } from './otlp_proto_slabs';

const resource = resourceFromAttributes({ 'service.name': 'tcpscope', 'host.name': 'node-1' });
const scope = { name: 'tcpscope/tcp_lifecycle', version: '0.1.0' };

/** `n` records like tcp_lifecycle's, told apart by `from` + index as local port. */
function records(n: number, from = 0): ReadableLogRecord[] {
  return Array.from({ length: n }, (_, i) => ({
    hrTime: [1_700_000_000 + i, 123_456_789] as [number, number],
    hrTimeObserved: [1_700_000_100 + i, 5] as [number, number],
    eventName: i % 2 === 0 ? 'tcp.connect' : 'tcp.close',
    attributes: {
      'network.transport': 'tcp',
      'network.local.address': `10.0.${(from + i) >> 8 & 255}.${(from + i) & 255}`,
      'network.local.port': (from + i) & 0xffff,
      'network.peer.port': 443,
      'process.executable.name': 'grüße',
    },
    resource,
    instrumentationScope: scope,
    droppedAttributesCount: 0,
  }));
}

/** The request as encode() writes it, in a buffer of its own. */
const reference = (rs: ReadableLogRecord[]) => new OtlpLogsProtoEncoder().encode(rs).toString('hex');

describe('RequestSlabs with OtlpLogsProtoEncoder.encodeInto', () => {
  it('writes the same bytes as encode(), request after request in one slab', () => {
    const encoder = new OtlpLogsProtoEncoder();
    const slabs = new RequestSlabs();
    const batches = [records(1), records(200, 1000), records(37, 5000)];
    const out = batches.map((rs) => encoder.encodeInto(rs, slabs));
    out.forEach((o, i) => {
      assert.ok(o.lease, `request ${i} is in a slab`);
      assert.equal(o.bytes.toString('hex'), reference(batches[i]), `request ${i}`);
    });
    assert.equal(slabs.allocated, 1);
    assert.equal(out[0].bytes.byteOffset, 0);
    for (let i = 1; i < out.length; i++) {
      assert.equal(out[i].bytes.buffer, out[0].bytes.buffer);
      assert.equal(out[i].bytes.byteOffset, out[i - 1].bytes.byteOffset + out[i - 1].bytes.length, `request ${i} follows request ${i - 1}`);
    }
  });

  it('reuses a slab once every request in it is released, and never writes over one still held', () => {
    const encoder = new OtlpLogsProtoEncoder();
    const slabs = new RequestSlabs();
    const first = encoder.encodeInto(records(500), slabs);
    const second = encoder.encodeInto(records(500, 500), slabs);
    first.lease!.release();
    first.lease!.release(); // a second release changes nothing: `second` still holds the slab
    const held = second.bytes.toString('hex');
    let written = first.bytes.length + second.bytes.length;
    let n = 0;
    // Fill past the slab (bounded: each request is ~100 KB of a 4 MiB slab), releasing as we go.
    while (written < 2 * SLAB_BYTES && n < 200) {
      const o = encoder.encodeInto(records(500, 1000 + 500 * n++), slabs);
      written += o.bytes.length;
      assert.ok(o.bytes.buffer !== second.bytes.buffer || o.bytes.byteOffset >= second.bytes.byteOffset + second.bytes.length, 'nothing written over a held request');
      o.lease!.release();
    }
    assert.equal(second.bytes.toString('hex'), held);
    assert.equal(second.bytes.toString('hex'), reference(records(500, 500)));
    // The first slab is held by `second`; a second slab took the rest and is reused in place.
    assert.equal(slabs.allocated, 2);
    second.lease!.release();
    const again = encoder.encodeInto(records(3), slabs);
    assert.equal(again.bytes.byteOffset, 0, 'a slab with nothing held is written from its start');
    assert.equal(again.bytes.toString('hex'), reference(records(3)));
    assert.equal(slabs.allocated, 2);
  });

  it('gives a request larger than a slab a buffer of its own, without a lease', () => {
    const encoder = new OtlpLogsProtoEncoder();
    const slabs = new RequestSlabs();
    encoder.encodeInto(records(1000), slabs); // sets the bytes per record the estimate uses
    const perRecord = Math.ceil(encoder.encode(records(1000)).length / 1000);
    const big = records(Math.ceil(SLAB_BYTES / perRecord) + 10);
    const o = encoder.encodeInto(big, slabs);
    assert.equal(o.lease, undefined);
    assert.ok(o.bytes.length > SLAB_BYTES);
    assert.equal(o.bytes.toString('hex'), reference(big));
  });
});
