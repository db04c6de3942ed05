// The control server's own rules, in-process with the stand-in capture service: the socket's
// directory and mode, a socket left by a dead agent replaced, a file that is not a socket refused,
// long-polls that end with the capture (or at once at stop), and the errors' codes.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AgentLogger } from '../../../logger';
import { StandInCaptureService, STAND_IN_SLOTS } from '../../../../test/support/capture_stand_in';
import { startChild } from '../../../../test/support/child';
import { CaptureServiceRegistry } from '../capture_api';
import { CaptureStarter } from './capture_starter';
import { ControlClient } from './control_client';
import { ControlServer, MAX_BODY_BYTES } from './control_server';
import { PodCgroupResolver } from './pod_cgroups';

const quiet = { debug() {}, info() {}, warn() {}, error() {} } as unknown as AgentLogger;

function setUp(t: TestContext, socketPath?: string) {
  const dir = mkdtempSync(join(tmpdir(), 'tcpscope-control-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const registry = new CaptureServiceRegistry();
  const service = new StandInCaptureService('/');
  registry.register('packet_capture', service);
  t.after(() => service.shutdown());
  const socket = socketPath ?? join(dir, 'run', 'tcpscope', 'capture.sock');
  const server = new ControlServer(socket, new CaptureStarter(registry, new PodCgroupResolver(() => [], undefined)), quiet);
  t.after(() => server.stop());
  return { dir, socket, server, registry, service, client: new ControlClient(socket) };
}

test('the socket is 0600 in a directory made 0700, and removed at stop (idempotent)', async (t) => {
  const { socket, server, client } = setUp(t);
  await server.start();
  assert.equal(statSync(socket).mode & 0o777, 0o600);
  assert.equal(statSync(join(socket, '..')).mode & 0o777, 0o700);
  assert.deepEqual(await client.list(), []);
  await server.stop();
  await server.stop();
  assert.equal(existsSync(socket), false);
  await assert.rejects(client.list(), { code: 'CAPTURE_AGENT_UNREACHABLE' });
});

test('a socket left by an agent that died is replaced; a file that is not a socket is refused', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tcpscope-control-stale-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const stale = join(dir, 'capture.sock');
  // A process that listens and is killed leaves its socket file behind, with nobody behind it.
  const dead = startChild([process.execPath, '-e', `require('net').createServer().listen(${JSON.stringify(stale)}, () => console.log('{}'))`]);
  await dead.nextJson();
  dead.process.kill('SIGKILL');
  await dead.exited();
  assert.ok(statSync(stale).isSocket());
  await assert.rejects(new ControlClient(stale).list(), (error: Error) => error.message.startsWith(`no tcpscope agent is listening at ${stale} (ECONNREFUSED)`));
  const { server, client } = setUp(t, stale);
  await server.start();
  assert.deepEqual(await client.list(), []);

  const file = join(dir, 'not-a-socket');
  writeFileSync(file, 'x');
  const { server: refused } = setUp(t, file);
  await assert.rejects(refused.start(), { code: 'CAPTURE_CONTROL_FAILED', message: `${file} exists and is not a socket; remove it or set service.capture.control.socket to another path` });
  // A directory that cannot be made (here: below a file; in a pod: a read-only root file system).
  const unmadeSocket = join(file, 'tcpscope', 'capture.sock');
  const { server: unmade } = setUp(t, unmadeSocket);
  await assert.rejects(unmade.start(), {
    code: 'CAPTURE_CONTROL_FAILED',
    message: `cannot listen on the capture control socket ${unmadeSocket}: cannot create ${join(file, 'tcpscope')} (ENOTDIR); set service.capture.control.socket to a writable path`,
  });
});

test('GET ?wait answers when the capture ends; stop() ends a long-poll at once', async (t) => {
  const { server, client } = setUp(t);
  await server.start();
  const short = await client.start({ selection: { sourcePort: 80 }, bounds: { durationMs: 200 } });
  const ended = await client.get(short.id, 30_000);
  assert.deepEqual([ended.state, ended.end], ['finished', 'duration']);
  const long = await client.start({ selection: { sourcePort: 81 } });
  const polling = client.get(long.id, 60_000);
  // The poll is held by the server; stopping the server must not wait 60 s for it.
  const before = Date.now();
  await new Promise((r) => setTimeout(r, 50));
  await server.stop();
  await polling.then(
    (status) => assert.equal(status.state, 'running'),
    (error: Error) => assert.match(error.message, /did not answer|socket hang up|ECONNRESET/),
  );
  assert.ok(Date.now() - before < 30_000, 'stop() did not wait for the long-poll');
});

test('errors: busy slots 409, no receiver 503, body too large 413, each with its code', async (t) => {
  const { server, client, registry, service, socket } = setUp(t);
  await server.start();
  for (let i = 0; i < STAND_IN_SLOTS; i++) await client.start({ selection: { sourcePort: 1000 + i } });
  await assert.rejects(client.start({ selection: { sourcePort: 999 } }), { code: 'CAPTURE_BUSY', httpStatus: 409 });
  registry.unregister('packet_capture', service);
  await assert.rejects(client.start({ selection: { sourcePort: 999 } }), {
    code: 'CAPTURE_NO_RECEIVER',
    httpStatus: 503,
    message: 'this agent runs no packet_capture receiver: add one to its config (receivers: packet_capture: {}, in a logs pipeline) and restart it',
  });
  const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = http.request({ socketPath: socket, method: 'POST', path: '/v1/captures' }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end('x'.repeat(MAX_BODY_BYTES + 1));
  });
  assert.deepEqual(answer, { status: 413, body: JSON.stringify({ error: { code: 'CAPTURE_INVALID_REQUEST', message: `the request body is larger than ${MAX_BODY_BYTES} bytes` } }) });
});
