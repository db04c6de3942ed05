// `node dist/bench/otlp_path.js [--rounds R] [--events N] [--rate EPS] [--k8s] [--compression gzip|none] [--variants a,b]`: the agent's event
// path in user space into the otlp exporter, from ring batches to a loopback OTLP/gRPC receiver
// that only counts (bench/otlp_sink.ts, a process of its own), fed at a fixed rate with the same
// synthetic churn-shaped batches (bench/lifecycle_batches.ts) as bench/event_path.ts. Variants:
//   - generic:        raw-bytes records encoded from their attribute maps (the encoder before
//                     otlpProto), every batch its own request (flush_timeout 0);
//   - otlpProto:      the records write their own protobuf, flush_timeout 0;
//   - otlpProto+20ms: the same with the default flush_timeout (20 ms): batches joined into
//                     fewer, larger requests;
//   - fresh+20ms:     otlpProto+20ms as it was before request slabs (otlp_proto_slabs.ts): each
//                     request in a Buffer of its own, joined requests concatenated at send time.
//   - grpcjs+20ms:    otlpProto+20ms with the logs Export sent through @grpc/grpc-js (a Client's
//                     makeUnaryRequest with identity serializers, as the sender did before its own
//                     gRPC over node:http2, grpc_unary_http2.ts): what grpc-js costs on this path.
// `--compression gzip|none` (default none) is the exporter's compression in every variant.
// `--variants a,b` runs only those.
// Each run is its own process, variants alternate (rotated each round); it reports the agent
// process's CPU per event (user+system, robust to other load), the receiver's CPU apart, requests
// and peak RSS, and checks that every event arrived. No BPF: the kernel side is not measured.
import { spawn, spawnSync } from 'node:child_process';
import type * as GrpcJs from '@grpc/grpc-js';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { Consumer } from '../src/component';
import { OtlpExporter } from '../src/exporters/otlp/otlp_exporter';
import { DEFAULT_QUEUE_BYTES, type OtlpExporterSettings } from '../src/exporters/otlp/config';
import { GrpcUnaryClient, type GrpcUnaryClientOptions, type UnaryResult } from '../src/exporters/otlp/grpc_unary_http2';
import { createLogger } from '../src/logger';
import { Enrichment } from '../src/processors/k8s_attributes/enrichment';
import { EventPump } from '../src/receivers/common/event_pump';
import { agentResource } from '../src/resource';
import { OtlpLogsProtoEncoder } from '../src/telemetry/otlp_proto_logs';
import type { SinkCounts } from './otlp_sink';
import { arg, feedAtRate, peakRssMb, rawRecords, syntheticContext } from './pump_feeder';

const VARIANTS = ['generic', 'otlpProto', 'otlpProto+20ms', 'fresh+20ms', 'grpcjs+20ms'] as const;
type Variant = (typeof VARIANTS)[number];

async function child(variant: Variant, endpoint: string, events: number, rate: number, k8s: boolean, compression: 'gzip' | 'none'): Promise<void> {
  if (variant === 'generic') {
    // The encoder as it was before otlpProto: every record from its attribute map.
    const encode = OtlpLogsProtoEncoder.prototype.encode;
    OtlpLogsProtoEncoder.prototype.encode = function (this: OtlpLogsProtoEncoder, records) {
      (this as unknown as { options: { selfEncoding: boolean } }).options = { selfEncoding: false };
      return encode.call(this, records);
    };
  }
  if (variant === 'fresh+20ms') {
    // Every request in a buffer of its own, as before slabs: no lease, nothing reused or adjacent.
    OtlpLogsProtoEncoder.prototype.encodeInto = function (this: OtlpLogsProtoEncoder, records) {
      return { bytes: this.encode(records), lease: undefined };
    };
  }
  if (variant === 'grpcjs+20ms') grpcJsCalls();
  const settings = { id: { type: 'otlp', text: 'otlp' }, resource: agentResource(), logger: createLogger('warn') };
  const config: OtlpExporterSettings = {
    endpoint,
    insecure: true,
    headers: {},
    compression,
    timeoutMs: 10_000,
    // Room for a slow start of the receiver on a loaded machine: what is measured is CPU per
    // event, and every event must arrive for the figure to mean anything.
    queueSize: 1000,
    queueBytes: 16 * DEFAULT_QUEUE_BYTES,
    flushTimeoutMs: variant.endsWith('+20ms') ? 20 : 0,
    retry: { enabled: true, initialIntervalMs: 1000, maxIntervalMs: 5000, maxElapsedTimeMs: 60_000, multiplier: 1.5, randomizationFactor: 0.5 },
  };
  const exporter = new OtlpExporter(settings, config, ['logs']);
  await exporter.start({ reportFatal: (e) => { throw e; } });
  const enrichment = new Enrichment();
  const exporterLogs = exporter.consumers.logs!;
  const consumer: Consumer<'logs'> = k8s ? { consume: (records) => exporterLogs.consume(records.map((r) => enrichment.enrichRecord(r))) } : exporterLogs;
  const pump = new EventPump(settings.logger, consumer, rawRecords(syntheticContext()));
  const cpuStart = process.cpuUsage();
  const started = Date.now();
  const sent = await feedAtRate(pump, events, rate);
  await pump.settle();
  await exporter.forceFlush();
  const cpu = process.cpuUsage(cpuStart);
  const dropped = exporter.droppedItems().logs;
  await exporter.shutdown();
  process.stdout.write(JSON.stringify({ events: sent, dropped, seconds: (Date.now() - started) / 1000, cpuUsPerEvent: (cpu.user + cpu.system) / sent, peakRssMb: peakRssMb() }) + '\n');
}

/**
 * The logs Export through grpc-js, as the sender made it before grpc_unary_http2.ts: one Client per
 * transport with the same credentials, compression and user agent, the metadata made once, the
 * request bytes joined and handed over with identity serializers, the deadline grpc-js's own.
 * grpc-js is loaded here only, so that the other variants' RSS does not include it.
 */
function grpcJsCalls(): void {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const grpc = require('@grpc/grpc-js') as typeof GrpcJs;
  const identity = (b: Buffer): Buffer => b;
  const channels = new WeakMap<GrpcUnaryClient, { client: GrpcJs.Client; metadata: GrpcJs.Metadata }>();
  const channelOf = (transport: GrpcUnaryClient) => {
    let channel = channels.get(transport);
    if (channel === undefined) {
      const options = (transport as unknown as { options: GrpcUnaryClientOptions }).options;
      const metadata = new grpc.Metadata();
      for (const [key, value] of Object.entries(options.metadata)) metadata.set(key, value);
      const client = new grpc.Client(options.endpoint, options.insecure ? grpc.credentials.createInsecure() : grpc.credentials.createSsl(), {
        'grpc.default_compression_algorithm': options.compression === 'gzip' ? 2 : 0,
        'grpc.primary_user_agent': 'tcpscope',
      });
      channels.set(transport, (channel = { client, metadata }));
    }
    return channel;
  };
  GrpcUnaryClient.prototype.call = function (this: GrpcUnaryClient, path, parts, size, timeoutMs): Promise<UnaryResult> {
    const { client, metadata } = channelOf(this);
    const request = parts.length === 1 ? parts[0] : Buffer.concat(parts as Buffer[], size);
    return new Promise((resolve) =>
      client.makeUnaryRequest<Buffer, Buffer>(path, identity, identity, request, metadata, { deadline: Date.now() + timeoutMs }, (error, response) =>
        resolve(error ? { code: error.code, details: error.details } : { code: 0, details: '', message: response }),
      ),
    );
  };
  GrpcUnaryClient.prototype.close = function (this: GrpcUnaryClient) {
    channels.get(this)?.client.close();
  };
}

interface Result {
  readonly events: number;
  readonly dropped: number;
  readonly cpuUsPerEvent: number;
  readonly peakRssMb: number;
  readonly seconds: number;
  readonly sinkCpuUsPerEvent: number;
  readonly requests: number;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function processCpuUs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return ((Number(fields[11]) + Number(fields[12])) / 100) * 1e6;
}

/** One run: a sink process, then the child against it; the sink's counts checked against what was sent. */
async function runOnce(variant: Variant, forwarded: string[]): Promise<Result> {
  const dir = mkdtempSync(join(tmpdir(), 'tcpscope-otlp-path-'));
  try {
    const resultPath = join(dir, 'sink.json');
    const sink = spawn(process.execPath, [join(__dirname, 'otlp_sink.js'), resultPath], { stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = new Promise<void>((resolve) => sink.once('exit', () => resolve()));
    try {
      const port = await new Promise<number>((resolve, reject) => {
        let text = '';
        const timer = setTimeout(() => reject(new Error('otlp_sink did not start within 30 s')), 30_000);
        sink.stdout!.on('data', (chunk: Buffer) => {
          text += chunk.toString();
          const match = /listening (\d+)/.exec(text);
          if (match) {
            clearTimeout(timer);
            resolve(Number(match[1]));
          }
        });
      });
      const sinkCpuBefore = processCpuUs(sink.pid!);
      const run = spawnSync(process.execPath, ['--max-semi-space-size=8', __filename, '--child', '--variant', variant, '--endpoint', `127.0.0.1:${port}`, ...forwarded], { encoding: 'utf8' });
      if (run.status !== 0) throw new Error(`${variant}: exit ${run.status}: ${run.stderr}`);
      const result = JSON.parse(run.stdout.trim().split('\n').at(-1)!) as Omit<Result, 'sinkCpuUsPerEvent' | 'requests'>;
      const sinkCpu = processCpuUs(sink.pid!) - sinkCpuBefore;
      writeFileSync(`${resultPath}.ports`, '[]');
      sink.kill('SIGTERM');
      await exited;
      const counts = JSON.parse(readFileSync(resultPath, 'utf8')) as SinkCounts;
      if (counts.total !== result.events || result.dropped !== 0) throw new Error(`${variant}: sent ${result.events}, the receiver counted ${counts.total}, dropped ${result.dropped}`);
      return { ...result, sinkCpuUsPerEvent: sinkCpu / result.events, requests: counts.requests };
    } finally {
      if (sink.exitCode === null) sink.kill('SIGKILL');
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function driver(): Promise<void> {
  const rounds = Number(arg('rounds', '3'));
  const forwarded = ['--events', arg('events', '300000'), '--rate', arg('rate', '40000'), '--compression', compressionArg(), ...(process.argv.includes('--k8s') ? ['--k8s'] : [])];
  const chosen = arg('variants', VARIANTS.join(',')).split(',') as Variant[];
  const unknown = chosen.filter((v) => !VARIANTS.includes(v));
  if (unknown.length > 0) throw new Error(`unknown variant ${unknown.join(', ')}; the variants are ${VARIANTS.join(', ')}`);
  const results = new Map<Variant, Result[]>(chosen.map((v) => [v, []]));
  for (let round = 0; round < rounds; round++) {
    for (let k = 0; k < chosen.length; k++) {
      const variant = chosen[(k + round) % chosen.length];
      const result = await runOnce(variant, forwarded);
      results.get(variant)!.push(result);
      console.error(`[${round + 1}/${rounds}] ${variant}: ${result.cpuUsPerEvent.toFixed(2)} us/event, ${result.requests} requests, peak RSS ${result.peakRssMb.toFixed(1)} MB, receiver ${result.sinkCpuUsPerEvent.toFixed(2)} us/event`);
    }
  }
  console.log(`event path in user space into the otlp exporter, ${forwarded.join(' ')}, ${rounds} rounds (median, min-max); every event arrived in every run:`);
  console.log('| variant | agent CPU us / event | requests | peak RSS MB | receiver CPU us / event (not the agent\'s) |');
  console.log('|---|---|---|---|---|');
  const range = (values: number[], digits: number) => `${median(values).toFixed(digits)} (${Math.min(...values).toFixed(digits)}-${Math.max(...values).toFixed(digits)})`;
  for (const [name, rs] of results) {
    console.log(`| ${name} | ${range(rs.map((r) => r.cpuUsPerEvent), 2)} | ${range(rs.map((r) => r.requests), 0)} | ${range(rs.map((r) => r.peakRssMb), 1)} | ${range(rs.map((r) => r.sinkCpuUsPerEvent), 2)} |`);
  }
}

function compressionArg(): 'gzip' | 'none' {
  const value = arg('compression', 'none');
  if (value !== 'gzip' && value !== 'none') throw new Error(`--compression must be gzip or none, got ${value}`);
  return value;
}

const HELP = `node dist/bench/otlp_path.js [--rounds R] [--events N] [--rate EPS] [--k8s] [--compression gzip|none] [--variants a,b]
The event path in user space (ring batches to the otlp exporter) against a loopback receiver that only
counts, one process per run, variants alternating. Reports agent CPU us/event (user+system), requests,
peak RSS and the receiver's CPU apart. Variants: ${VARIANTS.join(', ')} (see the top of bench/otlp_path.ts).
Defaults: --rounds 3 --events 300000 --rate 40000 --compression none, all variants.`;

if (process.argv.includes('--help')) {
  console.log(HELP);
} else if (process.argv.includes('--child')) {
  void child(arg('variant', 'otlpProto') as Variant, arg('endpoint', '127.0.0.1:4317'), Number(arg('events', '300000')), Number(arg('rate', '40000')), process.argv.includes('--k8s'), compressionArg());
} else {
  driver().catch((error: unknown) => {
    console.error((error as Error).stack ?? String(error));
    process.exit(1);
  });
}
