// Reading an OTLP/HTTP receiver's answer: Retry-After, partial success, error Status.
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { partialSuccessOf, retryAfterMs, statusMessageOf } from './response';

const NOW = Date.parse('Sun, 29 Nov 2026 17:00:00 GMT');

describe('Retry-After', () => {
  const cases: [string | undefined, number | undefined][] = [
    [undefined, undefined],
    ['', undefined],
    ['0', 0],
    ['3', 3000],
    [' 120 ', 120_000],
    ['Sun, 29 Nov 2026 17:00:07 GMT', 7000],
    ['Sunday, 29-Nov-26 17:00:02 GMT', 2000],
    ['Sun, 29 Nov 2026 16:59:00 GMT', 0],
    ['-5', undefined],
    ['1.5', undefined],
    ['soon', undefined],
  ];
  for (const [header, expected] of cases) {
    it(`${JSON.stringify(header)} → ${String(expected)}`, () => assert.equal(retryAfterMs(header, NOW), expected));
  }
});

/** ExportLogsServiceResponse { partial_success { rejected_log_records, error_message } } by hand. */
function partialProto(rejected: number, message: string): Buffer {
  const msg = Buffer.from(message);
  const inner = Buffer.concat([rejected ? Buffer.from([0x08, rejected]) : Buffer.alloc(0), msg.length ? Buffer.concat([Buffer.from([0x12, msg.length]), msg]) : Buffer.alloc(0)]);
  return Buffer.concat([Buffer.from([0x0a, inner.length]), inner]);
}

describe('partial success', () => {
  it('reads protobuf and JSON (int64 as a string or a number), per signal', () => {
    assert.deepStrictEqual(partialSuccessOf(partialProto(3, 'quota'), false, 'logs'), { rejected: 3, errorMessage: 'quota' });
    assert.deepStrictEqual(partialSuccessOf(Buffer.from('{"partialSuccess":{"rejectedLogRecords":"4","errorMessage":"late"}}'), true, 'logs'), { rejected: 4, errorMessage: 'late' });
    assert.deepStrictEqual(partialSuccessOf(Buffer.from('{"partialSuccess":{"rejectedDataPoints":5}}'), true, 'metrics'), { rejected: 5, errorMessage: '' });
  });

  it('is absent for a full success: empty body, empty message, empty partial_success', () => {
    assert.equal(partialSuccessOf(Buffer.alloc(0), false, 'logs'), undefined);
    assert.equal(partialSuccessOf(Buffer.from('{}'), true, 'logs'), undefined);
    assert.equal(partialSuccessOf(Buffer.from('{"partialSuccess":{}}'), true, 'metrics'), undefined);
    assert.equal(partialSuccessOf(partialProto(0, ''), false, 'logs'), undefined);
  });

  it('throws on a malformed body (the caller logs it and counts the batch delivered)', () => {
    assert.throws(() => partialSuccessOf(Buffer.from([0x0a, 0x05, 0x08]), false, 'logs'), /truncated/);
    assert.throws(() => partialSuccessOf(Buffer.from('{'), true, 'logs'));
  });
});

describe('error Status', () => {
  it('reads google.rpc.Status.message from protobuf and JSON, nothing from other bodies', () => {
    const message = Buffer.from('bad data');
    assert.equal(statusMessageOf(Buffer.concat([Buffer.from([0x08, 0x03, 0x12, message.length]), message]), false), 'bad data');
    assert.equal(statusMessageOf(Buffer.from('{"code":3,"message":"bad data"}'), true), 'bad data');
    assert.equal(statusMessageOf(Buffer.from('<html>502</html>'), false), undefined);
    assert.equal(statusMessageOf(Buffer.from('not json'), true), undefined);
    assert.equal(statusMessageOf(Buffer.alloc(0), false), undefined);
  });
});
