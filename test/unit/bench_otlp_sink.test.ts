// bench/otlp_sink.ts, the counting OTLP/gRPC receiver of the benchmark's otlp modes, as the
// benchmark runs it: a process of its own, fed by the exporter's logs sender, stopped by pid.
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { resourceFromAttributes } from '@opentelemetry/resources';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import type { SinkCounts } from '../../bench/otlp_sink';
import { agentConfig } from '../../bench/modes';
import { createEncodedLogsSender, encodeLogsBatch, logsEncoder } from '../../src/exporters/otlp/logs_grpc_sender';
import { PACKAGE_ROOT } from '../../src/paths';

const resource = resourceFromAttributes({ 'service.name': 'tcpscope' });
const scope = { name: 'tcpscope/tcp_lifecycle' };

function record(eventName: string, local: number, peer: number): ReadableLogRecord {
  return {
    hrTime: [1_700_000_000, 0],
    hrTimeObserved: [1_700_000_000, 1],
    eventName,
    attributes: { 'network.transport': 'tcp', 'network.local.port': local, 'network.peer.port': peer, 'process.pid': 7 },
    resource,
    instrumentationScope: scope,
    droppedAttributesCount: 0,
  };
}

describe('bench otlp sink', () => {
  it('counts the records of the load\'s server ports by event name, and all records', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'tcpscope-sink-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const result = join(dir, 'counts.json');
    const sink = spawn(process.execPath, [join(PACKAGE_ROOT, 'dist', 'bench', 'otlp_sink.js'), result], { stdio: ['ignore', 'pipe', 'inherit'] });
    t.after(() => {
      if (sink.exitCode === null && sink.signalCode === null) sink.kill('SIGKILL');
    });
    const exited = new Promise<number | null>((resolve) => sink.once('exit', (code) => resolve(code)));
    const port = await new Promise<number>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error('sink did not listen within 30 s')), 30_000);
      sink.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const match = /listening (\d+)/.exec(out);
        if (match) {
          clearTimeout(timer);
          resolve(Number(match[1]));
        }
      });
    });

    const sender = createEncodedLogsSender({
      endpoint: `127.0.0.1:${port}`,
      insecure: true,
      headers: {},
      compression: 'gzip',
      timeoutMs: 20_000,
      queueSize: 1,
      queueBytes: 1024,
      retry: { enabled: false, initialIntervalMs: 1, maxIntervalMs: 1, maxElapsedTimeMs: 0, multiplier: 1, randomizationFactor: 0 },
    });
    const encode = logsEncoder();
    // Server port 8080: a connect and a close from the client (local 40000), an accept on the server side.
    const ours = [record('tcp.connect', 40_000, 8080), record('tcp.accept', 8080, 40_000), record('tcp.close', 40_000, 8080), record('tcp.close', 8080, 40_000)];
    const others = [record('tcp.connect', 50_000, 443), record('tcp.close', 22, 51_000)];
    assert.deepStrictEqual(await sender.send(encodeLogsBatch([...ours, ...others.slice(0, 1)], encode)), { kind: 'sent' });
    assert.deepStrictEqual(await sender.send(encodeLogsBatch(others.slice(1), encode)), { kind: 'sent' });
    await sender.shutdown();

    writeFileSync(`${result}.ports`, JSON.stringify([8080]));
    sink.kill('SIGTERM');
    assert.equal(await exited, 0);
    const counts = JSON.parse(readFileSync(result, 'utf8')) as SinkCounts;
    assert.deepStrictEqual(counts, { total: 6, ours: { 'tcp.connect': 1, 'tcp.accept': 1, 'tcp.close': 2 }, oursTotal: 4, requests: 2 });
  });

  it('otlp modes send the logs pipeline to the otlp exporter at the sink, plaintext, compressed or not', () => {
    const config = agentConfig('otlp-gzip', '/tmp/x', '127.0.0.1:4321');
    assert.match(config, /\n {2}otlp:\n {4}endpoint: 127\.0\.0\.1:4321\n {4}tls: \{insecure: true\}\n {4}compression: gzip\n/);
    assert.match(config, /logs: \{receivers: \[tcp_lifecycle\], processors: \[k8s_attributes\], exporters: \[otlp\]\}/);
    assert.match(agentConfig('otlp', '/tmp/x', '127.0.0.1:4321'), /compression: none/);
    assert.doesNotMatch(agentConfig('events', '/tmp/x'), /otlp:/);
  });

  it('every events mode enriches with k8s_attributes in local mode, before sampling', () => {
    for (const mode of ['events', 'otlp', 'sampled:0.5', 'userspace-sampled:0.1'] as const) {
      assert.match(agentConfig(mode, '/tmp/x'), /\nprocessors:\n {2}k8s_attributes:\n {4}auth_type: none\n/, mode);
    }
    assert.match(agentConfig('sampled:0.5', '/tmp/x'), /logs: \{receivers: \[tcp_lifecycle\], processors: \[k8s_attributes, sampling\], exporters: \[file\/logs\]\}/);
    assert.doesNotMatch(agentConfig('metrics', '/tmp/x'), /k8s_attributes/);
  });
});
