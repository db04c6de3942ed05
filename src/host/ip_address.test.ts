import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isIP } from 'node:net';
import { AF_INET, AF_INET6, formatAddress, formatIpv6 } from './ip_address';

const v6 = (hex: string) => Buffer.from(hex.replace(/[^0-9a-f]/g, ''), 'hex');

test('IPv6 text follows RFC 5952', () => {
  const cases: [string, string][] = [
    ['0000 0000 0000 0000 0000 0000 0000 0001', '::1'],
    ['0000 0000 0000 0000 0000 0000 0000 0000', '::'],
    ['fd00 0000 0000 0000 0000 0000 0000 0002', 'fd00::2'],
    ['2001 0db8 0000 0000 0001 0000 0000 0001', '2001:db8::1:0:0:1'],
    ['2001 0db8 0000 0001 0001 0001 0001 0001', '2001:db8:0:1:1:1:1:1'],
    ['fe80 0000 0000 0000 abcd 0000 0000 0000', 'fe80::abcd:0:0:0'],
    ['2001 0db8 aaaa bbbb cccc dddd eeee ffff', '2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff'],
  ];
  for (const [hex, text] of cases) {
    assert.equal(formatIpv6(v6(hex), 0), text);
    assert.equal(isIP(text), 6);
  }
});

test('family and IPv4-mapped addresses', () => {
  const bytes = Buffer.alloc(20);
  bytes.set([198, 18, 0, 1], 2);
  assert.deepEqual(formatAddress(AF_INET, bytes, 2), { text: '198.18.0.1', type: 'ipv4' });
  assert.deepEqual(formatAddress(AF_INET6, v6('0000 0000 0000 0000 0000 ffff c612 0002'), 0), { text: '198.18.0.2', type: 'ipv4' });
  assert.deepEqual(formatAddress(AF_INET6, v6('0000 0000 0000 0000 0000 0000 0000 0001'), 0), { text: '::1', type: 'ipv6' });
});
