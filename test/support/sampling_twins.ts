// Twin receivers for push-down tests: loaded side by side, they see the same kernel transitions,
// one with the sampling predicate pushed down and one without. What the pushed-down twin delivers
// must be exactly what the processor keeps of what the plain twin delivers.
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import type { Consumer, CreateSettings } from '../../src/component';
import type { SamplingConfig } from '../../src/processors/sampling/config';
import { SamplingProcessor } from '../../src/processors/sampling/processor';
import { decide } from '../../src/processors/sampling/sampler';
import { RecordingLogsConsumer } from './recording_consumer';
import { testSettings } from './settings';

/** Records what a receiver hands to its logs pipeline, then passes it on to the processor. */
export class ReceiverOutput implements Consumer<'logs'> {
  /** Before any processor: what crossed the ring buffer. */
  readonly delivered: ReadableLogRecord[] = [];
  /** After the sampling processor: what the pipeline would export. */
  readonly exported = new RecordingLogsConsumer();
  private readonly processor: SamplingProcessor;

  constructor(readonly sampling: SamplingConfig) {
    this.processor = new SamplingProcessor(sampling, this.exported);
  }

  consume(records: readonly ReadableLogRecord[]): Promise<void> {
    this.delivered.push(...records);
    return this.processor.consume(records);
  }
}

/** Receiver settings, with the sampling predicate pushed down when `sampling` is given. */
export function pushdownSettings(type: string, name: string, sampling?: SamplingConfig): CreateSettings {
  return { ...testSettings(type, name), logsSampling: sampling };
}

const text = (value: unknown) => (value === undefined ? '-' : String(value));

/**
 * What identifies an event across the twins: name, role, tuple and owner. Not its durations: each
 * twin's program reads the clock itself, nanoseconds apart.
 */
export function eventIdentity(r: ReadableLogRecord): string {
  const a = r.attributes;
  return [
    r.eventName,
    a['network.tcp.handshake.role'],
    a['network.local.address'],
    a['network.local.port'],
    a['network.peer.address'],
    a['network.peer.port'],
    a['process.pid'],
    a['error.type'],
  ]
    .map(text)
    .join(' ');
}

/** The identities of `records`, sorted, for deepEqual. */
export function identities(records: readonly ReadableLogRecord[], withProbability = false): string[] {
  return records.map((r) => eventIdentity(r) + (withProbability ? ` p=${text(r.attributes['tcpscope.sampling.probability'])}` : '')).sort();
}

/** What the processor keeps of `records`. */
export function keptBy(config: SamplingConfig, records: readonly ReadableLogRecord[]): ReadableLogRecord[] {
  return records.filter((r) => decide(config, r.attributes).keep);
}

/** The connection an event belongs to, the same from either side. */
export function connectionOf(r: ReadableLogRecord): string {
  const a = r.attributes;
  const ends = [`${text(a['network.local.address'])}:${text(a['network.local.port'])}`, `${text(a['network.peer.address'])}:${text(a['network.peer.port'])}`].sort();
  return ends.join(' ');
}
