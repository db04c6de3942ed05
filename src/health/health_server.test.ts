// The health endpoint over real HTTP on 127.0.0.1 (port 0): liveness, readiness going from 503 to
// 200 as components become ready, and 503 naming an exporter in permanent failure.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import type { Component } from '../component';
import { parseHealthEndpoint } from './endpoint';
import { HealthServer } from './health_server';
import { readinessReport, type Readiness, type ReadinessSource } from './readiness';

interface Answer {
  readonly status: number;
  readonly body: unknown;
}

function get(port: number, path: string, method = 'GET'): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, body: text === '' ? undefined : JSON.parse(text) });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

class FakeComponent implements Component {
  constructor(public state: Readiness) {}
  async start(): Promise<void> {}
  async shutdown(): Promise<void> {}
  readiness(): Readiness {
    return this.state;
  }
}

const plain: Component = { start: async () => undefined, shutdown: async () => undefined };

test('readiness goes 503 -> 200 as receivers attach, 503 naming an exporter in permanent failure', async (t) => {
  const receiver = new FakeComponent({ ready: false, reason: 'programs not attached yet' });
  const exporter = new FakeComponent({ ready: true });
  let phase: 'starting' | 'running' | 'stopping' = 'starting';
  const sources: ReadinessSource[] = [
    { label: 'receiver "tcp_lifecycle"', component: receiver },
    { label: 'processor "batch"', component: plain },
    { label: 'exporter "otlp"', component: exporter },
  ];
  const server = new HealthServer(parseHealthEndpoint('127.0.0.1:0'), () => readinessReport(phase, sources));
  const address = await server.start();
  t.after(() => server.stop());
  assert.equal(address.address, '127.0.0.1');
  assert.notEqual(address.port, 0);

  assert.deepEqual(await get(address.port, '/readyz'), {
    status: 503,
    body: {
      status: 'not ready',
      not_ready: [
        { component: 'receiver "tcp_lifecycle"', reason: 'programs not attached yet' },
        { component: 'processor "batch"', reason: 'not started yet' },
      ],
    },
  });
  const alive = await get(address.port, '/healthz');
  assert.equal(alive.status, 200);
  assert.equal((alive.body as { status: string }).status, 'alive');

  receiver.state = { ready: true };
  // The receiver attached; a component without readiness() counts as ready only once the service started.
  assert.deepEqual(await get(address.port, '/readyz'), {
    status: 503,
    body: { status: 'not ready', not_ready: [{ component: 'processor "batch"', reason: 'not started yet' }] },
  });
  const withoutPlain = readinessReport('starting', [sources[0], sources[2]]);
  assert.deepEqual(withoutPlain, { ready: false, notReady: [{ component: 'agent', reason: 'starting' }] });
  phase = 'running';
  assert.deepEqual(await get(address.port, '/readyz'), { status: 200, body: { status: 'ready', not_ready: [] } });

  exporter.state = { ready: false, reason: 'localhost:4317 rejects batches permanently (metrics: UNAUTHENTICATED)' };
  assert.deepEqual(await get(address.port, '/readyz'), {
    status: 503,
    body: {
      status: 'not ready',
      not_ready: [{ component: 'exporter "otlp"', reason: 'localhost:4317 rejects batches permanently (metrics: UNAUTHENTICATED)' }],
    },
  });
  exporter.state = { ready: true };
  assert.equal((await get(address.port, '/readyz')).status, 200);

  phase = 'stopping';
  assert.deepEqual(await get(address.port, '/readyz'), {
    status: 503,
    body: { status: 'not ready', not_ready: [{ component: 'agent', reason: 'shutting down' }] },
  });
  // Liveness does not depend on readiness.
  assert.equal((await get(address.port, '/healthz')).status, 200);
});

test('unknown paths answer 404 and other methods 405, naming what is served', async (t) => {
  const server = new HealthServer(parseHealthEndpoint('127.0.0.1:0'), () => ({ ready: true, notReady: [] }));
  const { port } = await server.start();
  t.after(() => server.stop());
  const missing = await get(port, '/metrics');
  assert.equal(missing.status, 404);
  assert.match((missing.body as { error: string }).error, /\/healthz and \/readyz/);
  assert.equal((await get(port, '/readyz', 'POST')).status, 405);
  assert.equal((await get(port, '/healthz?verbose=1')).status, 200);
});

test('a port in use fails start with HEALTH_ENDPOINT_FAILED naming the config key; stop is idempotent', async (t) => {
  const first = new HealthServer(parseHealthEndpoint('127.0.0.1:0'), () => ({ ready: true, notReady: [] }));
  const { port } = await first.start();
  t.after(() => first.stop());
  const second = new HealthServer(parseHealthEndpoint(`127.0.0.1:${port}`), () => ({ ready: true, notReady: [] }));
  await assert.rejects(second.start(), (error: Error & { code?: string }) => {
    assert.equal(error.code, 'HEALTH_ENDPOINT_FAILED');
    assert.match(error.message, /EADDRINUSE/);
    assert.match(error.message, /service\.telemetry\.health\.endpoint/);
    return true;
  });
  await second.stop();
  await first.stop();
  await first.stop();
  await assert.rejects(get(port, '/healthz'), /ECONNREFUSED/);
});

test('parseHealthEndpoint takes host:port and [v6]:port, and rejects the rest', () => {
  assert.deepEqual(parseHealthEndpoint('0.0.0.0:13133'), { host: '0.0.0.0', port: 13133 });
  assert.deepEqual(parseHealthEndpoint('[::]:13133'), { host: '::', port: 13133 });
  assert.deepEqual(parseHealthEndpoint('localhost:0'), { host: 'localhost', port: 0 });
  for (const bad of ['13133', ':13133', '0.0.0.0:', '0.0.0.0:70000', '::1:13133', 'host:port', 'http://0.0.0.0:13133']) {
    assert.throws(() => parseHealthEndpoint(bad), /must be host:port/, bad);
  }
});
