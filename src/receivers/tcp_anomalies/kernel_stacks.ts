// The kernel stacks of tcp_anomalies events (stack_traces: true): the kernel keeps them in a
// stack-trace map (tcp_anomalies_stacks, at most max_stacks, 256 bytes each) and events carry an
// id. Ids are never deleted and the kernel does not overwrite an id's stack (no BPF_F_REUSE_STACKID),
// so a stack read once stays true: each is read and symbolised once and cached (bounded by the
// map's size). An id not seen yet makes one read of the map, at most once per ring batch.
import type { MapEntries } from '../../bridge/bpf_object';
import { KernelSymbols } from '../../host/kernel_symbols';

export class KernelStacks {
  private readonly frames = new Map<number, readonly string[]>();
  private symbols: KernelSymbols | undefined;
  private lastReadFor: unknown;

  constructor(
    private readonly readStacks: () => MapEntries,
    private readonly loadSymbols: () => KernelSymbols = () => KernelSymbols.load(),
  ) {}

  /** Reads /proc/kallsyms now (~180 ms for 122k symbols on 6.18), not on the first event's path. */
  preload(): number {
    return (this.symbols ??= this.loadSymbols()).size;
  }

  /** The stack of `id` as `symbol+0xoff` frames, innermost first; undefined when the map has none. `batch`: the ring batch asking. */
  stack(id: number, batch: unknown): readonly string[] | undefined {
    const cached = this.frames.get(id);
    if (cached !== undefined || this.lastReadFor === batch) return cached;
    this.lastReadFor = batch;
    const symbols = (this.symbols ??= this.loadSymbols());
    const entries = this.readStacks();
    for (let i = 0; i < entries.count; i++) {
      const key = entries.key(i).readUInt32LE(0);
      if (this.frames.has(key)) continue;
      const value = entries.value(i);
      const frames: string[] = [];
      for (let at = 0; at + 8 <= value.length; at += 8) {
        const address = value.readBigUInt64LE(at);
        if (address === 0n) break;
        frames.push(symbols.name(address));
      }
      this.frames.set(key, frames);
    }
    return this.frames.get(id);
  }
}
