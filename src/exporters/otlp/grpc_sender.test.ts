// TLS against a plaintext endpoint (a Collector's OTLP receiver without tls) is the commonest
// misconfiguration of the otlp exporter: the failure it logs must say which setting fixes it.
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { ExportResultCode } from '@opentelemetry/core';
import { Server, ServerCredentials, status } from '@grpc/grpc-js';
import { classify } from './grpc_sender';
import { createEncodedLogsSender } from './logs_grpc_sender';

const HINT = '(the endpoint answered a TLS handshake in plaintext: if it serves plaintext gRPC, set tls.insecure: true)';

describe('grpc sender: TLS to a plaintext endpoint', () => {
  const server = new Server();
  let port = 0;
  before(async () => {
    // Plaintext gRPC on loopback, port chosen by the kernel and kept for the whole test.
    port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))),
    );
  });
  after(() => server.forceShutdown());

  it('hints at tls.insecure when the handshake meets plaintext', async () => {
    const sender = createEncodedLogsSender({
      endpoint: `127.0.0.1:${port}`,
      insecure: false,
      headers: {},
      compression: 'none',
      timeoutMs: 10_000,
      queueSize: 1,
      queueBytes: 1024,
      retry: { enabled: false, initialIntervalMs: 1, maxIntervalMs: 1, maxElapsedTimeMs: 0, multiplier: 1, randomizationFactor: 0 },
    });
    try {
      const outcome = await sender.send({ parts: [Buffer.alloc(0)], size: 0, records: 0 });
      assert.ok(outcome.kind === 'retryable', JSON.stringify(outcome));
      assert.ok(outcome.reason.startsWith('UNAVAILABLE: '), outcome.reason);
      assert.match(outcome.reason, /wrong version number/);
      assert.ok(outcome.reason.endsWith(HINT), outcome.reason);
    } finally {
      await sender.shutdown();
    }
  });

  it('adds no hint to other failures', () => {
    const error = Object.assign(new Error('connect ECONNREFUSED'), { code: status.UNAVAILABLE, details: 'connect ECONNREFUSED 127.0.0.1:1' });
    assert.deepStrictEqual(classify({ code: ExportResultCode.FAILED, error }), {
      kind: 'retryable',
      reason: 'UNAVAILABLE: connect ECONNREFUSED 127.0.0.1:1',
    });
  });
});
