// Reads back what the file exporter wrote (OTLP/JSON, one export request per line): log records
// per event name for the benchmark's own connections, and the final values of the metrics the
// benchmark checks.
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { ATTR } from '../src/telemetry/attributes';
import { METRICS, type MetricDefinition } from '../src/telemetry/signals';

interface AnyValue {
  readonly stringValue?: string;
  readonly intValue?: string | number;
}
interface KeyValue {
  readonly key: string;
  readonly value?: AnyValue;
}
interface LogsLine {
  readonly resourceLogs?: readonly { readonly scopeLogs?: readonly { readonly logRecords?: readonly LogRecord[] }[] }[];
}
interface LogRecord {
  readonly eventName?: string;
  readonly attributes?: readonly KeyValue[];
}
interface NumberPoint {
  readonly asInt?: string | number;
  readonly asDouble?: number;
  readonly attributes?: readonly KeyValue[];
}
interface HistogramPoint {
  readonly count?: string | number;
  readonly attributes?: readonly KeyValue[];
}
interface Metric {
  readonly name: string;
  readonly sum?: { readonly dataPoints?: readonly NumberPoint[] };
  readonly histogram?: { readonly dataPoints?: readonly HistogramPoint[] };
  readonly exponentialHistogram?: { readonly dataPoints?: readonly HistogramPoint[] };
}
interface MetricsLine {
  readonly resourceMetrics?: readonly { readonly scopeMetrics?: readonly { readonly metrics?: readonly Metric[] }[] }[];
}

export interface LogRecordCounts {
  /** Every log record in the file. */
  readonly total: number;
  /** Records whose local or peer port is one of the benchmark's server ports, by event name. */
  readonly ours: Readonly<Record<string, number>>;
  readonly oursTotal: number;
}

async function* jsonLines(path: string): AsyncGenerator<unknown> {
  const lines = createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Infinity });
  for await (const line of lines) {
    if (line.trim() !== '') yield JSON.parse(line) as unknown;
  }
}

function intAttribute(attributes: readonly KeyValue[] | undefined, key: string): number | undefined {
  const value = attributes?.find((a) => a.key === key)?.value?.intValue;
  return value === undefined ? undefined : Number(value);
}

export async function countLogRecords(path: string, serverPorts: ReadonlySet<number>): Promise<LogRecordCounts> {
  let total = 0;
  let oursTotal = 0;
  const ours: Record<string, number> = {};
  for await (const line of jsonLines(path)) {
    for (const resource of (line as LogsLine).resourceLogs ?? []) {
      for (const scope of resource.scopeLogs ?? []) {
        for (const record of scope.logRecords ?? []) {
          total++;
          const local = intAttribute(record.attributes, ATTR.localPort.key);
          const peer = intAttribute(record.attributes, ATTR.peerPort.key);
          if ((local !== undefined && serverPorts.has(local)) || (peer !== undefined && serverPorts.has(peer))) {
            const name = record.eventName ?? '(none)';
            ours[name] = (ours[name] ?? 0) + 1;
            oursTotal++;
          }
        }
      }
    }
  }
  return { total, ours, oursTotal };
}

export interface FinalMetrics {
  /** tcpscope.receiver.dropped_events, summed over receivers; undefined when never exported. */
  readonly droppedEvents: number | undefined;
  /** tcpscope.receiver.sampled_out_events, summed over receivers; undefined when never exported. */
  readonly sampledOutEvents: number | undefined;
  /** Closed connections counted in the kernel (count of the duration histogram, all series). */
  readonly closedConnections: number | undefined;
  /** RTT samples counted in the kernel (count of tcp_rtt's histograms, all series). */
  readonly rttSamples: number | undefined;
}

/** Histograms emitted by tcp_rtt, looked up by emitter so that a renamed metric still counts. */
const RTT_HISTOGRAMS = new Set(
  (Object.values(METRICS) as readonly MetricDefinition[]).filter((m) => m.emittedBy.includes('tcp_rtt') && m.instrument === 'histogram').map((m) => m.name),
);

/** Values from the last export that carries them: metrics are cumulative, so the last is the total. */
export async function readFinalMetrics(path: string): Promise<FinalMetrics> {
  let droppedEvents: number | undefined;
  let sampledOutEvents: number | undefined;
  let closedConnections: number | undefined;
  let rttSamples: number | undefined;
  for await (const line of jsonLines(path)) {
    for (const resource of (line as MetricsLine).resourceMetrics ?? []) {
      for (const scope of resource.scopeMetrics ?? []) {
        for (const metric of scope.metrics ?? []) {
          if (metric.name === METRICS.droppedEvents.name) {
            droppedEvents = (metric.sum?.dataPoints ?? []).reduce((sum, p) => sum + Number(p.asInt ?? p.asDouble ?? 0), 0);
          } else if (metric.name === METRICS.sampledOutEvents.name) {
            sampledOutEvents = (metric.sum?.dataPoints ?? []).reduce((sum, p) => sum + Number(p.asInt ?? p.asDouble ?? 0), 0);
          } else if (metric.name === METRICS.connectionDuration.name) {
            closedConnections = (metric.histogram?.dataPoints ?? []).reduce((sum, p) => sum + Number(p.count ?? 0), 0);
          } else if (RTT_HISTOGRAMS.has(metric.name)) {
            // Explicit or exponential buckets, as configured.
            const points = [...(metric.histogram?.dataPoints ?? []), ...(metric.exponentialHistogram?.dataPoints ?? [])];
            rttSamples = points.reduce((sum, p) => sum + Number(p.count ?? 0), 0);
          }
        }
      }
    }
  }
  return { droppedEvents, sampledOutEvents, closedConnections, rttSamples };
}
