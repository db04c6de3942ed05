// The sampling processor: thins the event stream (logs only; metrics are complete by design and
// a metrics pipeline with this processor is refused by the config validation).
import type { Attributes } from '@opentelemetry/api';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import type { Consumer, Host, Processor } from '../../component';
import { ATTR } from '../../telemetry/attributes';
import type { SamplingConfig } from './config';
import { knownConnectionHash } from './known_connection_hash';
import { decide, decideBy } from './sampler';
import { isOtlpJsonLogRecord, withAddedAttributes } from '../../telemetry/otlp_encodable';

export class SamplingProcessor implements Processor<'logs'> {
  private readonly decided = { kept: 0, dropped: 0 };
  private readonly probabilities = new Map<number, Attributes>();

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

  /** One frozen attribute set per probability, so that its JSON is encoded once. */
  private probabilityAttributes(probability: number): Attributes {
    let attributes = this.probabilities.get(probability);
    if (attributes === undefined) {
      attributes = Object.freeze({ [ATTR.samplingProbability.key]: probability });
      if (this.probabilities.size >= 64) this.probabilities.clear();
      this.probabilities.set(probability, attributes);
    }
    return attributes;
  }

  consume(records: readonly ReadableLogRecord[]): Promise<void> {
    const kept: ReadableLogRecord[] = [];
    for (const record of records) {
      // The record's own connection hash when it has one (kernel records do): no rehashing.
      const knownUnit = knownConnectionHash(record);
      const decision = isOtlpJsonLogRecord(record)
        ? decideBy(this.config, (key) => record.attribute(key), knownUnit)
        : decide(this.config, record.attributes, knownUnit);
      if (!decision.keep) {
        this.decided.dropped++;
        continue;
      }
      this.decided.kept++;
      // Records are shared with other pipelines (fan-out): add the attribute on a copy (a wrapper
      // for records that encode themselves, see src/telemetry/otlp_encodable.ts).
      kept.push(withAddedAttributes(record, this.probabilityAttributes(decision.probability)));
    }
    return kept.length ? this.next.consume(kept) : Promise.resolve();
  }
}
