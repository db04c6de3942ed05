// bin/tcpscope is the documented way to run the agent because it exec()s Node: the process a
// service manager started *is* the agent, so its SIGTERM reaches the agent and the agent's exit
// code is what the manager sees. (`npx tcpscope run` puts npm in between, which exits on SIGTERM
// and leaves the agent orphaned.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../../src/paths';
import { waitUntil } from '../support/child';
import { requireKernel } from '../support/kernel';

const CONFIG = `
receivers:
  tcp_rtt: {collection_interval: 1h}
exporters:
  debug: {verbosity: basic}
service:
  pipelines:
    metrics: {receivers: [tcp_rtt], exporters: [debug]}
`;

test('bin/tcpscope becomes the agent process: SIGTERM to the launched pid stops the agent cleanly', async (t) => {
  if (!requireKernel(t)) return;
  const dir = mkdtempSync(join(tmpdir(), 'tcpscope-launcher-'));
  const configPath = join(dir, 'config.yaml');
  writeFileSync(configPath, CONFIG);
  // Its own process group, so that cleanup reaches every process it made even if the launcher
  // did not exec (the defect this test is about would otherwise leave an orphaned agent).
  const agent = spawn(join(PACKAGE_ROOT, 'bin', 'tcpscope'), ['run', '--config', configPath], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let stderr = '';
  agent.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  agent.stdout.resume();
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    agent.on('exit', (code, signal) => resolve({ code, signal })),
  );
  t.after(() => {
    try {
      process.kill(-(agent.pid as number), 'SIGKILL');
    } catch {
      // ESRCH: the group is gone, nothing left to clean up
    }
    rmSync(dir, { recursive: true, force: true });
  });
  await waitUntil(() => stderr.includes('running 1 pipeline'), 30_000, 'the agent to start');

  // The pid we started runs Node with the agent's entry point: the shell launcher exec'd.
  const pid = agent.pid as number;
  assert.equal(readlinkSync(`/proc/${pid}/exe`), readlinkSync(`/proc/${process.pid}/exe`), 'the launched pid runs node');
  const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  assert.ok(argv.some((a) => a.endsWith(join('bin', 'tcpscope.js'))), argv.join(' '));

  agent.kill('SIGTERM');
  assert.deepEqual(await exited, { code: 0, signal: null }, stderr);
  // Exit 0 means the agent itself handled the signal and shut down cleanly; a launcher killed by
  // it would report signal SIGTERM instead.
  assert.match(stderr, /SIGTERM/, 'the agent logged the signal it stopped on');
});
