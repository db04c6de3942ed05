// Text form of the 16-byte addresses the kernel side reports (IPv4 in the first 4 bytes).

export const AF_INET = 2;
export const AF_INET6 = 10;

export interface IpAddress {
  readonly text: string;
  readonly type: 'ipv4' | 'ipv6';
}

function ipv4(bytes: Buffer, offset: number): string {
  return `${bytes[offset]}.${bytes[offset + 1]}.${bytes[offset + 2]}.${bytes[offset + 3]}`;
}

function isV4Mapped(bytes: Buffer, offset: number): boolean {
  for (let i = 0; i < 10; i++) if (bytes[offset + i] !== 0) return false;
  return bytes[offset + 10] === 0xff && bytes[offset + 11] === 0xff;
}

/** RFC 5952 text: lowercase, longest run of two or more zero groups shortened to `::`. */
export function formatIpv6(bytes: Buffer, offset: number): string {
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push(bytes.readUInt16BE(offset + i * 2));
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = (from: number, to: number) => groups.slice(from, to).map((g) => g.toString(16)).join(':');
  if (bestStart < 0) return hex(0, 8);
  return `${hex(0, bestStart)}::${hex(bestStart + bestLength, 8)}`;
}

/** An IPv6 socket's IPv4-mapped peer is reported as IPv4: that is what is on the wire. */
export function formatAddress(family: number, bytes: Buffer, offset: number): IpAddress {
  if (family === AF_INET) return { text: ipv4(bytes, offset), type: 'ipv4' };
  if (isV4Mapped(bytes, offset)) return { text: ipv4(bytes, offset + 12), type: 'ipv4' };
  return { text: formatIpv6(bytes, offset), type: 'ipv6' };
}
