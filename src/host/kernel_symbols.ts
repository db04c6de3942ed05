// Kernel text symbols from /proc/kallsyms, for naming the frames of kernel stacks: read once
// (about 120k text symbols on Linux 6.18: measured ~150 ms and ~6 MB of heap, see the receiver's
// README), sorted, searched by binary search. Addresses are 64-bit kernel addresses (above 2^53),
// kept as BigUint64Array. With kptr_restrict hiding addresses (all zero) nothing can be named and
// frames are given as hex addresses.
import { readFileSync } from 'node:fs';

export class KernelSymbols {
  private constructor(
    /** Addresses as two 32-bit halves (numbers compare faster than bigints), ascending. */
    private readonly high: Uint32Array,
    private readonly low: Uint32Array,
    private readonly names: readonly string[],
  ) {}

  /** Parses kallsyms text (`address type name [module]` lines); text symbols only (t, T, w, W). */
  static parse(text: string): KernelSymbols {
    const highs: number[] = [];
    const lows: number[] = [];
    const names: string[] = [];
    let sorted = true;
    for (const line of text.split('\n')) {
      // `ffffffff81000000 T _stext` (16 hex digits, a type letter, the name, maybe `\t[module]`)
      if (line.length < 20 || line.charCodeAt(16) !== 0x20) continue;
      const type = line.charCodeAt(17);
      if (type !== 0x74 && type !== 0x54 && type !== 0x77 && type !== 0x57) continue; // t T w W
      const high = parseInt(line.slice(0, 8), 16);
      const low = parseInt(line.slice(8, 16), 16);
      if (high === 0 && low === 0) continue;
      const tab = line.indexOf('\t', 19);
      const n = highs.length;
      if (n > 0 && (high < highs[n - 1] || (high === highs[n - 1] && low < lows[n - 1]))) sorted = false;
      highs.push(high);
      lows.push(low);
      names.push(tab < 0 ? line.slice(19) : line.slice(19, tab));
    }
    // kallsyms lists the kernel image in address order, modules after it in their own order
    let order = Array.from(highs.keys());
    if (!sorted) order = order.sort((a, b) => highs[a] - highs[b] || lows[a] - lows[b]);
    return new KernelSymbols(
      Uint32Array.from(order, (i) => highs[i]),
      Uint32Array.from(order, (i) => lows[i]),
      order.map((i) => names[i]),
    );
  }

  static load(path = '/proc/kallsyms'): KernelSymbols {
    let text = '';
    try {
      text = readFileSync(path, 'latin1');
    } catch {
      // unreadable: every frame stays an address
    }
    return KernelSymbols.parse(text);
  }

  get size(): number {
    return this.names.length;
  }

  /** `symbol+0xoffset` for an address, or the address in hex when no symbol covers it. */
  name(address: bigint): string {
    const high = Number(address >> 32n);
    const low = Number(address & 0xffffffffn);
    let lo = 0;
    let hi = this.names.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const h = this.high[mid];
      if (h < high || (h === high && this.low[mid] <= low)) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    if (found < 0 || this.high[found] !== high) return `0x${address.toString(16)}`;
    return `${this.names[found]}+0x${(low - this.low[found]).toString(16)}`;
  }
}
