// The Prometheus protobuf exposition format: a stream of io.prometheus.client.MetricFamily
// messages, each preceded by its length as a varint ("encoding=delimited"). It is the only
// exposition format Prometheus 2.x reads native histograms from.
//
// Field numbers are those of prometheus/client_model's io/prometheus/client/metrics.proto
// (proto2: repeated scalars are written unpacked, which every protobuf reader accepts):
//   MetricFamily { name = 1; help = 2; type = 3 (enum MetricType); repeated Metric metric = 4 }
//   MetricType   { COUNTER = 0; GAUGE = 1; SUMMARY = 2; UNTYPED = 3; HISTOGRAM = 4 }
//   Metric       { repeated LabelPair label = 1; Gauge gauge = 2; Counter counter = 3; Histogram histogram = 7 }
//   LabelPair    { name = 1; value = 2 }          Gauge, Counter { double value = 1 }
//   Histogram    { uint64 sample_count = 1; double sample_sum = 2; repeated Bucket bucket = 3;
//                  sint32 schema = 5; double zero_threshold = 6; uint64 zero_count = 7;
//                  repeated BucketSpan negative_span = 9; repeated sint64 negative_delta = 10;
//                  repeated BucketSpan positive_span = 12; repeated sint64 positive_delta = 13 }
//   Bucket       { uint64 cumulative_count = 1; double upper_bound = 2 }
//   BucketSpan   { sint32 offset = 1; uint32 length = 2 }
// No timestamps: an exporter of an SDK's metrics must not add them (the scrape time is the time).
import type { ExponentialHistogramMode, Family, HistogramPoint, Label } from './families';
import type { BucketSpan } from './histograms';

export const PROTOBUF_CONTENT_TYPE = 'application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited';

const VARINT = 0;
const FIXED64 = 1;
const LENGTH_DELIMITED = 2;

const METRIC_TYPE = { counter: 0, gauge: 1, histogram: 4 } as const;

/** A growing byte buffer with the few protobuf encodings this format needs. */
export class ProtoBytes {
  private buf = Buffer.allocUnsafe(256);
  private pos = 0;

  bytes(): Buffer {
    return this.buf.subarray(0, this.pos);
  }

  private ensure(size: number): void {
    if (this.pos + size <= this.buf.length) return;
    let length = this.buf.length * 2;
    while (length < this.pos + size) length *= 2;
    const grown = Buffer.allocUnsafe(length);
    this.buf.copy(grown, 0, 0, this.pos);
    this.buf = grown;
  }

  /** An unsigned integer below 2^53 as a varint. */
  varint(value: number): void {
    this.ensure(10);
    let v = value;
    while (v >= 0x80) {
      this.buf[this.pos++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buf[this.pos++] = v;
  }

  tag(field: number, wireType: number): void {
    this.varint(field * 8 + wireType);
  }

  uintField(field: number, value: number): void {
    this.tag(field, VARINT);
    this.varint(value);
  }

  /** sint32 / sint64: zigzag, so small negative numbers stay short. */
  sintField(field: number, value: number): void {
    this.tag(field, VARINT);
    this.varint(value >= 0 ? value * 2 : -value * 2 - 1);
  }

  doubleField(field: number, value: number): void {
    this.tag(field, FIXED64);
    this.ensure(8);
    this.buf.writeDoubleLE(value, this.pos);
    this.pos += 8;
  }

  stringField(field: number, value: string): void {
    this.bytesField(field, Buffer.from(value, 'utf8'));
  }

  bytesField(field: number, value: Buffer): void {
    this.tag(field, LENGTH_DELIMITED);
    this.varint(value.length);
    this.raw(value);
  }

  /** Bytes as they are (no tag, no length). */
  raw(value: Buffer): void {
    this.ensure(value.length);
    value.copy(this.buf, this.pos);
    this.pos += value.length;
  }

  /** A nested message, written by `write` into its own buffer first (its length goes before it). */
  messageField(field: number, write: (message: ProtoBytes) => void): void {
    const message = new ProtoBytes();
    write(message);
    this.bytesField(field, message.bytes());
  }
}

/** Every non-empty family, length-delimited, as one buffer. */
export function writeProtobuf(families: readonly Family[], mode: ExponentialHistogramMode): Buffer {
  const out = new ProtoBytes();
  for (const family of families) {
    if (family.points.length === 0) continue;
    const message = new ProtoBytes();
    writeFamily(message, family, mode);
    const bytes = message.bytes();
    out.varint(bytes.length);
    out.raw(bytes);
  }
  return out.bytes();
}

function writeFamily(m: ProtoBytes, family: Family, mode: ExponentialHistogramMode): void {
  m.stringField(1, family.name);
  m.stringField(2, family.help);
  m.uintField(3, METRIC_TYPE[family.type]);
  for (const point of family.points) {
    m.messageField(4, (metric) => {
      writeLabels(metric, point.labels);
      if (point.kind === 'value') {
        metric.messageField(family.type === 'counter' ? 3 : 2, (v) => v.doubleField(1, point.value));
      } else {
        metric.messageField(7, (h) => writeHistogram(h, point, mode));
      }
    });
  }
}

function writeLabels(metric: ProtoBytes, labels: readonly Label[]): void {
  for (const [name, value] of labels) {
    metric.messageField(1, (pair) => {
      pair.stringField(1, name);
      pair.stringField(2, value);
    });
  }
}

function writeHistogram(h: ProtoBytes, point: HistogramPoint, mode: ExponentialHistogramMode): void {
  h.uintField(1, point.count);
  h.doubleField(2, point.sum);
  // Classic buckets: always for explicit histograms; for exponential ones unless native only.
  if (!point.native || mode !== 'native') {
    for (const bucket of point.classic) {
      h.messageField(3, (b) => {
        b.uintField(1, bucket.cumulativeCount);
        b.doubleField(2, bucket.le);
      });
    }
  }
  const native = point.native;
  if (!native) return;
  h.sintField(5, native.schema);
  h.doubleField(6, native.zeroThreshold);
  h.uintField(7, native.zeroCount);
  writeSpans(h, 9, native.negativeSpans);
  for (const delta of native.negativeDeltas) h.sintField(10, delta);
  writeSpans(h, 12, native.positiveSpans);
  for (const delta of native.positiveDeltas) h.sintField(13, delta);
}

function writeSpans(h: ProtoBytes, field: number, spans: readonly BucketSpan[]): void {
  for (const span of spans) {
    h.messageField(field, (s) => {
      s.sintField(1, span.offset);
      s.uintField(2, span.length);
    });
  }
}
