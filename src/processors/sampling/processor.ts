// The sampling processor: thins the event stream (logs only; metrics are complete by design and
// a metrics pipeline with this processor is refused by the config validation).
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import type { Consumer, Host, Processor } from '../../component';
import { ATTR } from '../../telemetry/attributes';
import type { SamplingConfig } from './config';
import { decide } from './sampler';

export class SamplingProcessor implements Processor<'logs'> {
  private readonly decided = { kept: 0, dropped: 0 };

  constructor(
    private readonly config: SamplingConfig,
    private readonly next: Consumer<'logs'>,
  ) {}

  async start(_host: Host): Promise<void> {}

  async shutdown(): Promise<void> {}

  /** Events seen so far, kept and dropped by sampling. */
  counts(): { kept: number; dropped: number } {
    return { ...this.decided };
  }

  consume(records: readonly ReadableLogRecord[]): Promise<void> {
    const kept: ReadableLogRecord[] = [];
    for (const record of records) {
      const decision = decide(this.config, record.attributes);
      if (!decision.keep) {
        this.decided.dropped++;
        continue;
      }
      this.decided.kept++;
      // Records are shared with other pipelines (fan-out): add the attribute on a copy.
      kept.push({ ...record, attributes: { ...record.attributes, [ATTR.samplingProbability.key]: decision.probability } });
    }
    return kept.length ? this.next.consume(kept) : Promise.resolve();
  }
}
