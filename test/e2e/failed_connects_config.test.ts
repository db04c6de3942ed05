// A newcomer's first look at failed connects: config/failed-connects.yaml prints each one with
// its reason, and nothing for successful ones.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { connect, createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../../src/paths';
import { DEADLINE_MS, waitUntil } from '../support/child';
import { uniqueLoopbackAddress } from '../support/names';
import { requireKernel } from '../support/kernel';

test('config/failed-connects.yaml shows a refused connect with error.type and nothing for a success', async (t) => {
  if (!requireKernel(t)) return;
  const agent = spawn(join(PACKAGE_ROOT, 'bin', 'tcpscope'), ['run', '--config', join(PACKAGE_ROOT, 'config', 'failed-connects.yaml')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  agent.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  agent.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((r) => agent.on('exit', (code) => r(code)));
  const server = createServer((s) => s.end()).listen(0, '127.0.0.1');
  t.after(() => {
    agent.kill('SIGKILL');
    server.close();
  });
  await waitUntil(() => stderr.includes('attached'), DEADLINE_MS, 'the agent to attach');

  const { port } = server.address() as AddressInfo;
  const attempt = (target: number, host = '127.0.0.1') =>
    new Promise<string>((resolve) => {
      const socket = connect(target, host);
      socket.on('connect', () => socket.end(() => resolve('connected')));
      socket.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
    });
  assert.equal(await attempt(port), 'connected');
  // Port 1 on a loopback address of this test's own: refused for certain (only a wildcard listener
  // on the privileged port 1 could answer).
  assert.equal(await attempt(1, uniqueLoopbackAddress()), 'ECONNREFUSED');
  // Other processes on the host may be refused too: wait for this process's line.
  const mine = () => stdout.split('\n').filter((l) => l.includes(' tcp.connect ') && l.includes(`process.pid=${process.pid} `));
  await waitUntil(() => mine().some((l) => l.includes('error.type=ECONNREFUSED')), DEADLINE_MS, 'the refused connect on stdout');
  agent.kill('SIGTERM');
  assert.equal(await exited, 0, stderr);

  const connects = mine();
  assert.equal(connects.length, 1, `exactly the failed attempt of this process:\n${connects.join('\n')}`);
  assert.match(connects[0], /network\.peer\.port=1 .*error\.type=ECONNREFUSED/);
});
