// A ring buffer being drained by the addon: libuv wakes it when the BPF side forces a wake-up
// or its drain timer fires, and each time it hands over ALL pending records in one Buffer.
import type { NativeAddon, NativeRingHandle } from './native';

/**
 * `batch` holds `records` records, each framed as [u32 little-endian length][bytes].
 * `errno` is non-zero when the addon could not take some records (e.g. ENOMEM).
 */
export type RingBatchHandler = (batch: Buffer, records: number, errno: number) => void;

export class RingReader {
  private ring: NativeRingHandle | undefined;

  constructor(
    private readonly addon: NativeAddon,
    ring: NativeRingHandle,
    private readonly onClose: () => void,
  ) {
    this.ring = ring;
  }

  /**
   * Stops reading until resume(): the kernel ring buffer then fills and drops what does not fit
   * (counted on the BPF side), which keeps user-space memory bounded when consumers lag.
   */
  pause(): void {
    if (this.ring) this.addon.ringPause(this.ring);
  }

  resume(): void {
    if (this.ring) this.addon.ringResume(this.ring);
  }

  /** Hands over the records still pending, then stops. Idempotent. */
  close(): void {
    if (!this.ring) return;
    this.addon.ringClose(this.ring);
    this.ring = undefined;
    this.onClose();
  }
}

/** Calls `visit(offset, length)` for each framed record of a batch. */
export function forEachRecord(batch: Buffer, visit: (offset: number, length: number) => void): void {
  let offset = 0;
  while (offset + 4 <= batch.length) {
    const length = batch.readUInt32LE(offset);
    visit(offset + 4, length);
    offset += 4 + length;
  }
}
