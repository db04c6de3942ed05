// The 16 address bytes of the kernel records' tuples, for fixtures: IPv4 in the first 4 bytes,
// IPv4-mapped IPv6, and IPv6 from its eight 16-bit groups.
export const v4 = (...b: number[]) => [...b, ...new Array(12).fill(0)];
export const mapped = (...b: number[]) => [...new Array(10).fill(0), 0xff, 0xff, ...b];
export const v6 = (...groups: number[]) => groups.flatMap((g) => [g >> 8, g & 255]);
