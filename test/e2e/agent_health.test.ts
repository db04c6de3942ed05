// End to end: the real `tcpscope run` with service.telemetry.health on 127.0.0.1 port 0. The agent
// logs the address it bound; /readyz answers 503 naming what is not ready until the receiver has
// attached, then 200; /healthz answers 200; the agent's own process metrics reach the file
// exporter; SIGTERM stops it with exit 0 and closes the endpoint.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { status } from '@grpc/grpc-js';
import { join } from 'node:path';
import { agentArgv, pipelinesFor, startAgent, stopAgent, testDir, writeAgentConfig } from '../support/agent';
import { DEADLINE_MS, waitUntil } from '../support/child';
import { requireKernel } from '../support/kernel';
import { attributesOf, startOtlpGrpcServer } from '../support/otlp-grpc-server';
import { readOtlpJsonFile, readOtlpJsonFileSoFar, type FlatDataPoint } from '../support/otlp_json';
import { workloadCgroup } from '../support/workload';

interface Answer {
  readonly status: number;
  readonly body: { readonly status?: string; readonly not_ready?: readonly { component: string; reason: string }[] };
}

function get(port: number, path: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false, timeout: 5_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) }));
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${path} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

const LISTENING = /health endpoint listening on http:\/\/127\.0\.0\.1:(\d+) /;

test('tcpscope run serves /healthz and /readyz, exports its own process metrics, and exits 0 on SIGTERM', async (t) => {
  if (!requireKernel(t)) return;
  const { children } = workloadCgroup(t, 'health');
  const dir = testDir(t, 'tcpscope-health');
  const out = join(dir, 'telemetry.jsonl');
  const config = writeAgentConfig(dir, {
    receivers: { tcp_lifecycle: { collection_interval: '300ms' } },
    exporters: { file: { path: out, flush_interval: '100ms' } },
    pipelines: pipelinesFor(['metrics'], ['tcp_lifecycle'], ['file']),
    telemetry: { health: { endpoint: '127.0.0.1:0' } },
  });

  // The endpoint listens before the receivers load and attach: start-up is observable.
  const agent = await startAgent(children, agentArgv(config), {
    ready: (stderr) => LISTENING.test(stderr),
    what: 'the agent to log its health endpoint address',
  });
  const port = Number(LISTENING.exec(agent.stderr())?.[1]);
  assert.ok(port > 0 && port < 65536, `a bound port in: ${agent.stderr()}`);

  // Poll /readyz until it answers 200 (bounded in count and time); whatever 503 comes before must
  // name a component not started or attached yet, or the agent still starting, never anything else.
  const notReadySeen = new Set<string>();
  let ready: Answer | undefined;
  const deadline = Date.now() + DEADLINE_MS;
  for (let i = 0; i < 3_000 && Date.now() < deadline && ready === undefined; i++) {
    const answer = await get(port, '/readyz');
    if (answer.status === 200) ready = answer;
    else {
      assert.equal(answer.status, 503, JSON.stringify(answer));
      assert.equal(answer.body.status, 'not ready');
      for (const item of answer.body.not_ready ?? []) notReadySeen.add(`${item.component}: ${item.reason}`);
    }
  }
  t.diagnostic(`/readyz before 200: ${[...notReadySeen].join('; ') || '(already ready at the first request)'}`);
  assert.deepEqual(ready?.body, { status: 'ready', not_ready: [] }, `/readyz became 200 within ${DEADLINE_MS} ms`);
  // Components start exporters first, then receivers: any of them may be seen not started yet.
  const allowed = new Set([
    'receiver "tcp_lifecycle": programs not attached yet',
    'receiver "tcp_lifecycle": not started yet',
    'exporter "file": not started yet',
    'agent: starting',
  ]);
  assert.deepEqual([...notReadySeen].filter((s) => !allowed.has(s)), [], 'only start-up reasons before ready');
  // 200 means the receiver attached: its log line says so.
  await waitUntil(() => /attached .*tp_btf\/inet_sock_set_state/.test(agent.stderr()), DEADLINE_MS, 'the attach log line');

  const alive = await get(port, '/healthz');
  assert.equal(alive.status, 200);
  assert.equal(alive.body.status, 'alive');

  const processPoints = (points: readonly FlatDataPoint[]) => points.filter((p) => p.metric.startsWith('process.'));
  await waitUntil(() => readOtlpJsonFileSoFar(out).metricExports.some((points) => processPoints(points).length === 3), DEADLINE_MS, 'a metrics export with the process metrics');
  await stopAgent(agent);
  await assert.rejects(get(port, '/healthz'), /ECONNREFUSED/, 'the endpoint is closed after exit');

  const last = processPoints(readOtlpJsonFile(out).metricExports.at(-1) ?? []);
  const rss = last.find((p) => p.metric === 'process.memory.usage');
  // RSS of a Node process with a BPF object loaded: above 10 MB, below the 1 GiB nothing here nears.
  assert.ok(typeof rss?.value === 'number' && rss.value > 10 * 2 ** 20 && rss.value < 2 ** 30, `RSS ${rss?.value}`);
  assert.deepEqual(rss?.attributes, {});
  const cpu = last.filter((p) => p.metric === 'process.cpu.time');
  assert.deepEqual(cpu.map((p) => p.attributes['cpu.mode']), ['user', 'system']);
  // Loading and attaching took CPU time in user space; both values are seconds, not microseconds.
  const user = cpu[0]?.value;
  assert.ok(typeof user === 'number' && user > 0 && user < 3_600, `user CPU seconds ${user}`);
  assert.ok(typeof cpu[1]?.value === 'number' && cpu[1].value >= 0);
});

test('/readyz answers 503 naming the otlp exporter while the backend rejects for good, 200 once it accepts again', async (t) => {
  if (!requireKernel(t)) return;
  const { children } = workloadCgroup(t, 'health-otlp');
  const dir = testDir(t, 'tcpscope-health-otlp');
  // Cleanups run in the order registered: the agent is killed before the backend closes.
  const backend = await startOtlpGrpcServer();
  t.after(() => backend.close());
  backend.failWith(status.UNAUTHENTICATED, 'bad token');
  const config = writeAgentConfig(dir, {
    receivers: { tcp_lifecycle: { collection_interval: '200ms' } },
    exporters: { otlp: { endpoint: backend.endpoint, tls: { insecure: true } } },
    pipelines: pipelinesFor(['metrics'], ['tcp_lifecycle'], ['otlp']),
    telemetry: { health: { endpoint: '127.0.0.1:0' } },
  });
  const agent = await startAgent(children, agentArgv(config), {
    ready: (stderr) => LISTENING.test(stderr) && stderr.includes('attached'),
    what: 'the agent to attach and log its health endpoint address',
  });
  const port = Number(LISTENING.exec(agent.stderr())?.[1]);

  // Polls /readyz every 20 ms until it answers `wanted`, at most DEADLINE_MS and 1500 times.
  const readyzUntil = async (wanted: number): Promise<Answer> => {
    const deadline = Date.now() + DEADLINE_MS;
    let answer = await get(port, '/readyz');
    for (let i = 0; i < 1_500 && answer.status !== wanted && Date.now() < deadline; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      answer = await get(port, '/readyz');
    }
    return answer;
  };
  let answer = await readyzUntil(503);
  assert.deepEqual(answer, {
    status: 503,
    body: {
      status: 'not ready',
      not_ready: [
        {
          component: 'exporter "otlp"',
          reason: `${backend.endpoint} rejects batches permanently (metrics: UNAUTHENTICATED: bad token); fix the exporter's endpoint, headers or credentials`,
        },
      ],
    },
  });
  assert.equal((await get(port, '/healthz')).status, 200, 'alive while not ready');

  backend.failWith(undefined);
  await backend.waitFor(() => backend.metricsRequests.length > 0, DEADLINE_MS);
  answer = await readyzUntil(200);
  assert.deepEqual(answer, { status: 200, body: { status: 'ready', not_ready: [] } });

  // The queue size of the otlp exporter rides along with its metrics.
  const queue = backend.metricsRequests
    .flatMap((r) => r.resourceMetrics ?? [])
    .flatMap((rm) => rm.scopeMetrics ?? [])
    .flatMap((sm) => sm.metrics ?? [])
    .filter((m) => m.name === 'tcpscope.exporter.queue_size');
  assert.ok(queue.length > 0, 'tcpscope.exporter.queue_size exported');
  assert.deepEqual(attributesOf(queue[0].sum?.dataPoints?.[0]?.attributes), { exporter: 'otlp', signal: 'metrics' });
  await stopAgent(agent);
});
