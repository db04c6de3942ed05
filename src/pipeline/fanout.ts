// Hands one batch to several consumers: one receiver feeding several pipelines of a signal, or one
// pipeline feeding several exporters. Every consumer gets the batch even when another fails, so a
// broken exporter does not starve a healthy one; the failure is reported once all have settled.
//
// All consumers receive the same object. The payload types are readonly, and a consumer that
// needs to change data must copy it first (the Collector's "mutates data" capability, made a rule).
import type { Consumer, Signal, SignalData } from '../component';

export class FanoutConsumer<S extends Signal> implements Consumer<S> {
  private readonly consumers: readonly Consumer<S>[];

  constructor(consumers: readonly Consumer<S>[]) {
    this.consumers = [...consumers];
  }

  async consume(data: SignalData[S]): Promise<void> {
    // async wrapper: a consumer that throws synchronously must not keep the others from running.
    const results = await Promise.allSettled(this.consumers.map(async (c) => c.consume(data)));
    const errors = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
    if (errors.length > 0) {
      const first = errors[0] instanceof Error ? errors[0].message : String(errors[0]);
      throw new AggregateError(errors, `${errors.length} of ${this.consumers.length} consumers failed: ${first}`);
    }
  }
}

/** A single consumer is used as is; fan-out only when there is something to fan out to. */
export function fanout<S extends Signal>(consumers: readonly Consumer<S>[]): Consumer<S> {
  if (consumers.length === 0) throw new Error('fanout needs at least one consumer');
  return consumers.length === 1 ? consumers[0] : new FanoutConsumer(consumers);
}
