// A real OTLP/gRPC receiver for tests: MetricsService/Export and LogsService/Export served by
// @grpc/grpc-js on loopback, decoding requests with the OTLP protobuf definitions in ./proto.
// It records every request it accepts and can be told to answer with an error status (e.g.
// UNAVAILABLE) to exercise an exporter's retries.
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { uniqueLoopbackAddress } from './names';

// ---- Decoded messages (proto-loader: camelCase keys, 64-bit integers as decimal strings, enums
// as numbers, bytes as Buffer, the set member of a oneof named by its oneof field). ----

export interface AnyValueMessage {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: string;
  doubleValue?: number;
  arrayValue?: { values?: AnyValueMessage[] };
  kvlistValue?: { values?: KeyValueMessage[] };
  bytesValue?: Buffer;
  value?: 'stringValue' | 'boolValue' | 'intValue' | 'doubleValue' | 'arrayValue' | 'kvlistValue' | 'bytesValue';
}
export interface KeyValueMessage {
  key: string;
  value?: AnyValueMessage;
}
export interface ResourceMessage {
  attributes?: KeyValueMessage[];
}
export interface ScopeMessage {
  name?: string;
  version?: string;
}
export interface NumberDataPointMessage {
  attributes?: KeyValueMessage[];
  startTimeUnixNano?: string;
  timeUnixNano?: string;
  asDouble?: number;
  asInt?: string;
  value?: 'asDouble' | 'asInt';
}
export interface HistogramDataPointMessage {
  attributes?: KeyValueMessage[];
  startTimeUnixNano?: string;
  timeUnixNano?: string;
  count?: string;
  sum?: number;
  bucketCounts?: string[];
  explicitBounds?: number[];
  min?: number;
  max?: number;
}
export interface ExponentialHistogramDataPointMessage {
  attributes?: KeyValueMessage[];
  count?: string;
  sum?: number;
  scale?: number;
  zeroCount?: string;
  positive?: { offset?: number; bucketCounts?: string[] };
  negative?: { offset?: number; bucketCounts?: string[] };
  min?: number;
  max?: number;
}
export interface MetricMessage {
  name: string;
  description?: string;
  unit?: string;
  gauge?: { dataPoints?: NumberDataPointMessage[] };
  sum?: { dataPoints?: NumberDataPointMessage[]; aggregationTemporality?: number; isMonotonic?: boolean };
  histogram?: { dataPoints?: HistogramDataPointMessage[]; aggregationTemporality?: number };
  exponentialHistogram?: { dataPoints?: ExponentialHistogramDataPointMessage[]; aggregationTemporality?: number };
  data?: 'gauge' | 'sum' | 'histogram' | 'exponentialHistogram' | 'summary';
}
export interface ExportMetricsServiceRequest {
  resourceMetrics?: {
    resource?: ResourceMessage;
    scopeMetrics?: { scope?: ScopeMessage; metrics?: MetricMessage[] }[];
  }[];
}
export interface LogRecordMessage {
  timeUnixNano?: string;
  observedTimeUnixNano?: string;
  severityNumber?: number;
  severityText?: string;
  body?: AnyValueMessage;
  attributes?: KeyValueMessage[];
  eventName?: string;
  traceId?: Buffer;
  spanId?: Buffer;
}
export interface ExportLogsServiceRequest {
  resourceLogs?: {
    resource?: ResourceMessage;
    scopeLogs?: { scope?: ScopeMessage; logRecords?: LogRecordMessage[] }[];
  }[];
}

/** One accepted request with the metadata (headers) it came with. */
export interface Received<R> {
  readonly request: R;
  readonly metadata: Readonly<Record<string, string>>;
}

export interface OtlpGrpcServerOptions {
  /** Port to listen on; 0 (default) picks a free one. */
  readonly port?: number;
  readonly host?: string;
}

export interface OtlpGrpcServer {
  readonly port: number;
  /** `host:port`, as an exporter's endpoint. */
  readonly endpoint: string;
  readonly metricsRequests: ExportMetricsServiceRequest[];
  readonly logsRequests: ExportLogsServiceRequest[];
  /** Accepted requests of both services with their metadata, in arrival order. */
  readonly received: Received<ExportMetricsServiceRequest | ExportLogsServiceRequest>[];
  /** Requests answered with the failure status set by failWith(). */
  readonly rejected: number;
  /**
   * The response to accepted logs exports, e.g. `{ partialSuccess: { rejectedLogRecords: 2,
   * errorMessage: '…' } }` (an OTLP partial success); undefined answers an empty response.
   */
  answerLogsWith(response: object | undefined): void;
  /** Answer every export with `code` (e.g. grpc.status.UNAVAILABLE) until called with undefined. */
  failWith(code: grpc.status | undefined, details?: string): void;
  /** While true, hold every request without answering (a hung backend); false answers them. */
  stall(on: boolean): void;
  /** Requests received and being held by stall(true). */
  readonly stalled: number;
  /** Resolves when `predicate` holds, checking after every request; rejects after `timeoutMs`. */
  waitFor(predicate: () => boolean, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

const PROTO_FILES = [
  'opentelemetry/proto/collector/metrics/v1/metrics_service.proto',
  'opentelemetry/proto/collector/logs/v1/logs_service.proto',
];

// The .proto files stay in the source tree; tests run from dist/, which tsc fills with .js only.
function protoRoot(): string {
  const beside = join(__dirname, 'proto');
  return existsSync(beside) ? beside : resolve(__dirname, '../../../test/support/proto');
}

let definitions: protoLoader.PackageDefinition | undefined;
function loadDefinitions(): protoLoader.PackageDefinition {
  definitions ??= protoLoader.loadSync(PROTO_FILES, {
    includeDirs: [protoRoot()],
    keepCase: false,
    longs: String,
    enums: Number,
    defaults: false,
    oneofs: true,
  });
  return definitions;
}

function service(name: string): grpc.ServiceDefinition {
  return loadDefinitions()[name] as grpc.ServiceDefinition;
}

export async function startOtlpGrpcServer(options: OtlpGrpcServerOptions = {}): Promise<OtlpGrpcServer> {
  const host = options.host ?? '127.0.0.1';
  const server = new grpc.Server();
  const metricsRequests: ExportMetricsServiceRequest[] = [];
  const logsRequests: ExportLogsServiceRequest[] = [];
  const received: Received<ExportMetricsServiceRequest | ExportLogsServiceRequest>[] = [];
  const listeners = new Set<() => void>();
  let failure: { code: grpc.status; details: string } | undefined;
  let logsResponse: object = {};
  let rejected = 0;
  let stalling = false;
  let held: (() => void)[] = [];

  const handler =
    <R extends ExportMetricsServiceRequest | ExportLogsServiceRequest>(sink: R[]): grpc.handleUnaryCall<R, object> =>
    (call, callback) => {
      if (stalling) {
        held.push(() => handler(sink)(call, callback));
        for (const listener of listeners) listener();
        return;
      }
      if (failure) {
        rejected++;
        callback({ code: failure.code, details: failure.details });
      } else {
        sink.push(call.request);
        received.push({ request: call.request, metadata: textMetadata(call.metadata) });
        callback(null, sink === (logsRequests as unknown[]) ? logsResponse : {});
      }
      for (const listener of listeners) listener();
    };

  server.addService(service('opentelemetry.proto.collector.metrics.v1.MetricsService'), {
    Export: handler(metricsRequests),
  });
  server.addService(service('opentelemetry.proto.collector.logs.v1.LogsService'), {
    Export: handler(logsRequests),
  });

  const port = await new Promise<number>((resolvePort, reject) =>
    server.bindAsync(`${host}:${options.port ?? 0}`, grpc.ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(error) : resolvePort(bound),
    ),
  );

  return {
    port,
    endpoint: `${host}:${port}`,
    metricsRequests,
    logsRequests,
    received,
    get rejected() {
      return rejected;
    },
    answerLogsWith(response) {
      logsResponse = response ?? {};
    },
    failWith(code, details = 'test server says so') {
      failure = code === undefined ? undefined : { code, details };
    },
    stall(on) {
      stalling = on;
      if (on) return;
      const release = held;
      held = [];
      for (const answer of release) answer();
    },
    get stalled() {
      return held.length;
    },
    waitFor(predicate, timeoutMs = 30_000) {
      if (predicate()) return Promise.resolve();
      return new Promise<void>((resolveWait, reject) => {
        const check = () => {
          if (!predicate()) return;
          done();
          resolveWait();
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`test OTLP server: condition not met within ${timeoutMs}ms (${metricsRequests.length} metrics, ${logsRequests.length} logs requests, ${rejected} rejected)`));
        }, timeoutMs);
        // Also poll: a predicate may depend on state outside this server (e.g. an exporter's counters).
        const poll = setInterval(check, 20);
        const done = () => {
          clearTimeout(timer);
          clearInterval(poll);
          listeners.delete(check);
        };
        listeners.add(check);
      });
    },
    close() {
      // forceShutdown: clients in these tests keep connections open; a graceful shutdown would wait on them.
      server.forceShutdown();
      return Promise.resolve();
    },
  };
}

function textMetadata(metadata: grpc.Metadata): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(metadata.getMap())) out[key] = String(value);
  return out;
}

/** Where a backend that is down now will come up later: connects to it are refused meanwhile. */
export interface AbsentBackend {
  readonly host: string;
  readonly port: number;
  /** `host:port`, as an exporter's endpoint. */
  readonly endpoint: string;
}

/**
 * An address for a backend that is down (nothing listens) and comes up later with
 * startOtlpGrpcServer({ host, port }). The port is found by binding on a loopback address of the
 * test's own (uniqueLoopbackAddress), not on 127.0.0.1: between the probe's close and the server's
 * bind, no other process on the host can take that address and port.
 */
export function absentBackend(): Promise<AbsentBackend> {
  const host = uniqueLoopbackAddress();
  return new Promise((resolvePort, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, host, () => {
      const address = probe.address();
      probe.close(() =>
        typeof address === 'object' && address ? resolvePort({ host, port: address.port, endpoint: `${host}:${address.port}` }) : reject(new Error('no port')),
      );
    });
  });
}

/** Attributes as a plain object: int64 strings become numbers (exact below 2^53), for assertions. */
export function attributesOf(attributes: KeyValueMessage[] | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const { key, value } of attributes ?? []) out[key] = anyValueOf(value);
  return out;
}

export function anyValueOf(value: AnyValueMessage | undefined): unknown {
  if (!value || !value.value) return undefined;
  switch (value.value) {
    case 'intValue':
      return Number(value.intValue);
    case 'arrayValue':
      return (value.arrayValue?.values ?? []).map(anyValueOf);
    case 'kvlistValue':
      return attributesOf(value.kvlistValue?.values);
    default:
      return value[value.value];
  }
}
