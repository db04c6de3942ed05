// The benchmark's counting OTLP/gRPC receiver (otlp_sink.ts, its own gRPC over node:http2 and a
// protobuf scan without objects) counts exactly what the agent's otlp exporter sends it: every
// record, by event name, and those of given server ports (local or peer), with and without gzip.
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { resourceFromAttributes } from '@opentelemetry/resources';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import type { Exporter, Host } from '../src/component';
import { otlpExporterFactory, type OtlpExporterConfig } from '../src/exporters/otlp/factory';
import { recordingSettings } from '../test/support/recording-settings';
import type { SinkCounts } from './otlp_sink';

const dir = mkdtempSync(join(tmpdir(), 'tcpscope-otlp-sink-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const host: Host = { reportFatal: (e) => assert.fail(`unexpected fatal: ${e.message}`) };
const resource = resourceFromAttributes({ 'service.name': 'tcpscope' });
const NAMES = ['tcp.connect', 'tcp.accept', 'tcp.close', 'tcp.close'] as const;
const SERVER_PORT = 8080;

/** Record i: a name by i % 4; local port 8080 for every 5th, peer port 8080 for every 7th, else others. */
function records(n: number, from: number): ReadableLogRecord[] {
  return Array.from({ length: n }, (_, k) => {
    const i = from + k;
    return {
      hrTime: [1_700_000_000, i] as [number, number],
      hrTimeObserved: [1_700_000_000, i] as [number, number],
      eventName: NAMES[i % 4],
      attributes: {
        'network.transport': 'tcp',
        'network.local.address': '127.0.0.1',
        'network.local.port': i % 5 === 0 ? SERVER_PORT : 40000 + (i % 1000),
        'network.peer.address': '127.0.0.1',
        'network.peer.port': i % 7 === 0 ? SERVER_PORT : 50000 + (i % 1000),
        'process.executable.name': 'grüße',
      },
      resource,
      instrumentationScope: { name: 'tcpscope/tcp_lifecycle', version: '0.1.0' },
      droppedAttributesCount: 0,
    };
  });
}

async function startSink(resultPath: string): Promise<{ endpoint: string; stop: () => Promise<SinkCounts> }> {
  const sink = spawn(process.execPath, [join(__dirname, 'otlp_sink.js'), resultPath], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('otlp_sink did not start within 30 s')), 30_000);
    sink.once('exit', (code) => reject(new Error(`otlp_sink exited (${code})`)));
    sink.stdout!.on('data', (chunk: Buffer) => {
      const match = /listening (\d+)/.exec(chunk.toString());
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    });
  });
  return {
    endpoint: `127.0.0.1:${port}`,
    stop: async () => {
      const exited = new Promise((resolve) => sink.once('exit', resolve));
      sink.kill('SIGTERM');
      await exited;
      return JSON.parse(readFileSync(resultPath, 'utf8')) as SinkCounts;
    },
  };
}

describe('otlp_sink', () => {
  for (const compression of ['none', 'gzip'] as const) {
    it(`counts every record the otlp exporter sends, by name and server port (${compression})`, async () => {
      const resultPath = join(dir, `counts-${compression}.json`);
      writeFileSync(`${resultPath}.ports`, JSON.stringify([SERVER_PORT]));
      const sink = await startSink(resultPath);
      const config: OtlpExporterConfig = {
        endpoint: sink.endpoint,
        tls: { insecure: true },
        headers: {},
        compression,
        timeout: '5s',
        sending_queue: { queue_size: 100, flush_timeout: 0 },
        retry_on_failure: { enabled: true, initial_interval: '50ms', max_interval: '200ms', max_elapsed_time: 0, multiplier: 2, randomization_factor: 0 },
      };
      const exporter = otlpExporterFactory.create(recordingSettings('otlp'), config, ['logs']) as Exporter;
      await exporter.start(host);
      const N = 10_000;
      try {
        for (let from = 0; from < N; from += 500) await exporter.consumers.logs!.consume(records(500, from));
        await exporter.forceFlush?.();
      } finally {
        await exporter.shutdown();
      }
      const counts = await sink.stop();
      const expected: Record<string, number> = {};
      let ours = 0;
      for (let i = 0; i < N; i++) {
        if (i % 5 !== 0 && i % 7 !== 0) continue;
        expected[NAMES[i % 4]] = (expected[NAMES[i % 4]] ?? 0) + 1;
        ours++;
      }
      assert.equal(counts.total, N);
      assert.equal(counts.oursTotal, ours);
      assert.deepEqual(counts.ours, expected);
      assert.ok(counts.requests >= 1 && counts.requests <= N / 500, `${counts.requests} requests`);
    });
  }
});
