// Reusable buffers for encoded export requests.
//
// Each request used to be written into a Buffer of its own. Buffers are external memory, and V8
// counts it towards the old generation's limit: at tens of thousands of records per second an
// agent with a small heap ran a full GC every ~10 MB of requests, and its helper threads' marking
// was a large part of the exporter's CPU. Here requests are written one after another into a few
// large slabs that are reused once every request in them has left the queue (sent, dropped or
// refused: the queue releases each request's lease then). Consecutive requests in one slab are
// also adjacent bytes: joining them for one export (mergeEncodedLogs) needs no copy.
//
// Memory: the slab being written, the slabs holding requests still queued (the queue's byte
// bound applies to those requests; requests are written in order and leave the queue oldest first,
// so at most the oldest such slab holds bytes no longer queued), and at most MAX_FREE_SLABS spare.

/** A hold on a slab's bytes, released once (further calls do nothing). */
export interface SlabLease {
  release(): void;
}

/** Bytes per slab: a few joined requests (a joined request is at most 2 MiB, typically far less). */
export const SLAB_BYTES = 4 * 1024 * 1024;
/** Spare slabs kept for reuse; more are left to the GC. */
export const MAX_FREE_SLABS = 2;

interface Slab {
  readonly buf: Buffer;
  /** Where the next request starts. */
  used: number;
  /** Requests written into it and not yet released. */
  leases: number;
}

class Lease implements SlabLease {
  private released = false;

  constructor(
    private readonly slabs: RequestSlabs,
    private readonly slab: Slab,
  ) {}

  release(): void {
    if (this.released) return;
    this.released = true;
    this.slabs.returned(this.slab);
  }
}

export class RequestSlabs {
  private current: Slab | undefined;
  private readonly free: Slab[] = [];
  /** Slabs allocated so far (a measure for tests and benchmarks). */
  allocated = 0;

  /**
   * The slab a request of about `estimate` bytes is to be written into, at `slab.used`; undefined
   * when the estimate is larger than a slab (the caller allocates a buffer of its own).
   */
  open(estimate: number): { readonly buf: Buffer; readonly used: number } | undefined {
    if (estimate > SLAB_BYTES) return undefined;
    let slab = this.current;
    if (slab !== undefined && slab.leases === 0) slab.used = 0;
    if (slab === undefined || slab.used + estimate > SLAB_BYTES) {
      if (slab !== undefined && slab.leases === 0) this.spare(slab);
      slab = this.free.pop() ?? this.allocate();
      slab.used = 0;
      this.current = slab;
    }
    return slab;
  }

  /** The request written into the current slab up to `end` is kept there: its lease. */
  commit(end: number): SlabLease {
    const slab = this.current!;
    slab.used = end;
    slab.leases++;
    return new Lease(this, slab);
  }

  /** Called by a lease. */
  returned(slab: Slab): void {
    slab.leases--;
    if (slab.leases === 0 && slab !== this.current) this.spare(slab);
  }

  private spare(slab: Slab): void {
    if (this.free.length < MAX_FREE_SLABS) this.free.push(slab);
  }

  private allocate(): Slab {
    this.allocated++;
    return { buf: Buffer.allocUnsafe(SLAB_BYTES), used: 0, leases: 0 };
  }
}
