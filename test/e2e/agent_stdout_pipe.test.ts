// End to end: the real agent printing with the debug exporter into a pipe whose reader goes away
// (`tcpscope run | head -3`) or never reads. The agent must not die of EPIPE, must not hang on a
// blocked stdout, and must count what it could not print.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../../src/paths';
import { startChild, TCP_PEER, waitUntil, type RunningChild } from '../support/child';
import { requireKernel } from '../support/kernel';

const TCPSCOPE = join(PACKAGE_ROOT, 'bin', 'tcpscope');

interface PipedAgent {
  readonly process: ChildProcess;
  stderr(): string;
  exited(timeoutMs: number): Promise<number | null>;
}

function startPipedAgent(config: string): PipedAgent {
  const child = spawn(TCPSCOPE, ['run', '--config', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exit = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return {
    process: child,
    stderr: () => stderr,
    exited: (timeoutMs) =>
      Promise.race([
        exit,
        new Promise<number | null>((_, reject) => setTimeout(() => reject(new Error(`agent did not exit within ${timeoutMs} ms:\n${stderr}`)), timeoutMs).unref()),
      ]),
  };
}

function writeConfig(t: { after(fn: () => void): void }, verbosity: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'tcpscope-pipe-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const config = join(dir, 'tcpscope.yaml');
  writeFileSync(
    config,
    `receivers:
  tcp_lifecycle:
    collection_interval: 100ms
exporters:
  debug:
    verbosity: ${verbosity}
service:
  pipelines:
    metrics: {receivers: [tcp_lifecycle], exporters: [debug]}
    logs: {receivers: [tcp_lifecycle], exporters: [debug]}
`,
  );
  return config;
}

test('`tcpscope run | head -3`: the reader closing stdout is logged once, the agent keeps running and stops cleanly', async (t) => {
  if (!requireKernel(t)) return;
  const agent = startPipedAgent(writeConfig(t, 'basic'));
  t.after(() => agent.process.kill('SIGKILL'));

  // Read three lines like head -3, then close the pipe's reading end.
  let text = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no 3 lines on stdout within 30 s:\n${agent.stderr()}`)), 30_000);
    agent.process.stdout!.on('data', (d: Buffer) => {
      text += d.toString();
      if (text.split('\n').length > 3) {
        clearTimeout(timer);
        agent.process.stdout!.destroy();
        resolve();
      }
    });
  });
  assert.match(text.split('\n')[0], /^(Metrics: \d+ metrics, \d+ data points|Logs: \d+ log records?)$/);

  await waitUntil(() => agent.stderr().includes('stdout is gone') || agent.process.exitCode !== null, 20_000, 'the agent to notice stdout is gone');
  assert.equal(agent.process.exitCode, null, `the agent died: ${agent.stderr()}`);
  assert.match(agent.stderr(), /WARN  debug: stdout is gone: its reader closed the pipe \(EPIPE\)/);
  // Later exports are counted, not printed, and nothing throws: wait for a few more collections.
  const marker = agent.stderr().length;
  agent.process.kill('SIGHUP');
  await waitUntil(() => agent.stderr().slice(marker).includes('flushed'), 10_000, 'a flush after stdout went away');
  assert.equal(agent.process.exitCode, null, 'still running');

  agent.process.kill('SIGTERM');
  assert.equal(await agent.exited(20_000), 0);
  const stderr = agent.stderr();
  assert.equal(stderr.split('stdout is gone').length - 1, 1, 'logged once');
  assert.doesNotMatch(stderr, /Error: write EPIPE|\n\s+at /, 'no stack trace');
  const dropped = /dropped since start: exporter "debug" (\d+) data points, (\d+) log records/.exec(stderr);
  assert.ok(dropped && Number(dropped[1]) + Number(dropped[2]) > 0, stderr);
});

test('a stdout nobody reads: exports are dropped past the limit, SIGTERM still ends the agent', async (t) => {
  if (!requireKernel(t)) return;
  const agent = startPipedAgent(writeConfig(t, 'detailed'));
  t.after(() => agent.process.kill('SIGKILL'));
  agent.process.stdout!.pause(); // never read

  await waitUntil(() => agent.stderr().includes('running 2 pipeline') || agent.process.exitCode !== null, 30_000, 'the agent to start');
  // Detailed log records of loopback connections fill the pipe, then the 1 MiB the exporter lets wait.
  const peers: RunningChild[] = [];
  t.after(() => peers.forEach((p) => p.kill()));
  const server = startChild([process.execPath, TCP_PEER, 'server', '10', 'client-first']);
  peers.push(server);
  const ports = await server.nextJson<{ v4: number }>();
  peers.push(startChild([process.execPath, TCP_PEER, 'client', '127.0.0.1', String(ports.v4), '3000', '10', '0', 'client-first']));
  await waitUntil(
    () => agent.stderr().includes('not being read fast enough') || agent.process.exitCode !== null,
    60_000,
    'the exporter to start dropping',
  );
  assert.equal(agent.process.exitCode, null, `the agent died: ${agent.stderr()}`);
  agent.process.kill('SIGTERM');
  assert.equal(await agent.exited(30_000), 0);
  const stderr = agent.stderr();
  assert.match(stderr, /INFO  stopped/);
  const dropped = /dropped since start: exporter "debug" (\d+) data points, (\d+) log records/.exec(stderr);
  assert.ok(dropped && Number(dropped[1]) + Number(dropped[2]) > 0, stderr);
});
