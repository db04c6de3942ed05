// What every log record backed by raw kernel bytes shares (tcp_lifecycle/raw_log_record.ts,
// tcp_handshake/raw_log_record.ts): the record's place in its ring batch, the times, resource and
// scope every ReadableLogRecord carries, the attribute map built only when a component asks for
// it (then cached), and the kernel's connection hash. Each receiver's subclass names its event,
// builds its map from the decoded event, and writes its own OTLP/JSON and protobuf.
import type { Attributes, HrTime } from '@opentelemetry/api';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import type { RawBatch } from './raw_events';
import { recordConnectionHash } from './record_connection_hash';

export abstract class RawLogRecord {
  readonly hrTime: HrTime;
  readonly hrTimeObserved: HrTime;
  readonly resource: ReadableLogRecord['resource'];
  readonly instrumentationScope: ReadableLogRecord['instrumentationScope'];
  readonly droppedAttributesCount = 0;
  private built: Attributes | undefined;

  /** `offset`: where the event starts in the batch's bytes; `timestampOffset`: where its u64 kernel time is, from there. */
  protected constructor(
    readonly batch: RawBatch,
    readonly offset: number,
    readonly eventName: string,
    timestampOffset: number,
  ) {
    this.hrTime = batch.hrTime(offset + timestampOffset);
    this.hrTimeObserved = batch.observed;
    const context = batch.caches.context;
    this.resource = context.resource;
    this.instrumentationScope = context.scope;
  }

  /** Where the receiver's event keeps the connection hash: a constant per subclass (a prototype getter, not a field per record). */
  protected abstract get connectionHashOffset(): number;

  /** The record's attribute map, from its decoded event: what the decoded path builds. */
  protected abstract buildAttributes(): Attributes;

  get attributes(): Attributes {
    return (this.built ??= this.buildAttributes());
  }

  /** The kernel's connection hash of this record's tuple (KnownConnectionHash of the sampling processor). */
  connectionHash(): number | undefined {
    return recordConnectionHash(this.batch.bytes, this.offset + this.connectionHashOffset);
  }
}
