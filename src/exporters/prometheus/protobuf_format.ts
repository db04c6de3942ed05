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
import { ProtoWriter } from '../../telemetry/otlp_proto_writer';
import type { BucketSpan } from './histograms';

export const PROTOBUF_CONTENT_TYPE = 'application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited';

const VARINT = 0;
const FIXED64 = 1;
const LENGTH_DELIMITED = 2;

const METRIC_TYPE = { counter: 0, gauge: 1, histogram: 4 } as const;

// Every field number here is below 16, so a field's key is one byte.
const key = (field: number, wireType: number): number => (field << 3) | wireType;

/**
 * The protobuf fields this format needs, over the OTLP encoders' ProtoWriter (one growing buffer;
 * a nested message reserves its length and is moved only when the guess was off).
 */
class MetricWriter {
  constructor(readonly w: ProtoWriter) {}

  uint(field: number, value: number): void {
    this.w.byte(key(field, VARINT));
    this.w.varint(value);
  }

  /** sint32 / sint64: zigzag, so small negative numbers stay short (exact below 2^52). */
  sint(field: number, value: number): void {
    this.w.byte(key(field, VARINT));
    this.w.varint(value >= 0 ? value * 2 : -value * 2 - 1);
  }

  double(field: number, value: number): void {
    this.w.byte(key(field, FIXED64));
    this.w.double(value);
  }

  string(field: number, value: string): void {
    this.w.byte(key(field, LENGTH_DELIMITED));
    this.w.string(value);
  }

  /** A nested message written by `write`, its length reserved as `reserve` bytes. */
  message(field: number, reserve: number, write: () => void): void {
    this.w.byte(key(field, LENGTH_DELIMITED));
    const mark = this.w.begin(reserve);
    write();
    this.w.end(mark);
  }
}

/** Every non-empty family, each preceded by its length, as one buffer. */
export function writeProtobuf(families: readonly Family[], mode: ExponentialHistogramMode): Buffer {
  const m = new MetricWriter(new ProtoWriter(64 * 1024));
  for (const family of families) {
    if (family.points.length === 0) continue;
    const mark = m.w.begin(3);
    writeFamily(m, family, mode);
    m.w.end(mark);
  }
  return m.w.copy();
}

function writeFamily(m: MetricWriter, family: Family, mode: ExponentialHistogramMode): void {
  m.string(1, family.name);
  m.string(2, family.help);
  m.uint(3, METRIC_TYPE[family.type]);
  for (const point of family.points) {
    m.message(4, 2, () => {
      writeLabels(m, point.labels);
      if (point.kind === 'value') m.message(family.type === 'counter' ? 3 : 2, 1, () => m.double(1, point.value));
      else m.message(7, 2, () => writeHistogram(m, point, mode));
    });
  }
}

function writeLabels(m: MetricWriter, labels: readonly Label[]): void {
  for (const [name, value] of labels) {
    m.message(1, 1, () => {
      m.string(1, name);
      m.string(2, value);
    });
  }
}

function writeHistogram(m: MetricWriter, point: HistogramPoint, mode: ExponentialHistogramMode): void {
  m.uint(1, point.count);
  m.double(2, point.sum);
  // Classic buckets: always for explicit histograms; for exponential ones unless native only.
  if (!point.native || mode !== 'native') {
    for (const bucket of point.classic) {
      m.message(3, 1, () => {
        m.uint(1, bucket.cumulativeCount);
        m.double(2, bucket.le);
      });
    }
  }
  const native = point.native;
  if (!native) return;
  m.sint(5, native.schema);
  m.double(6, native.zeroThreshold);
  m.uint(7, native.zeroCount);
  writeSpans(m, 9, native.negativeSpans);
  for (const delta of native.negativeDeltas) m.sint(10, delta);
  writeSpans(m, 12, native.positiveSpans);
  for (const delta of native.positiveDeltas) m.sint(13, delta);
}

function writeSpans(m: MetricWriter, field: number, spans: readonly BucketSpan[]): void {
  for (const span of spans) {
    m.message(field, 1, () => {
      m.sint(1, span.offset);
      m.uint(2, span.length);
    });
  }
}
