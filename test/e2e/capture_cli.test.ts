// `bin/tcpscope capture start|list|stop` against a real agent process: the control socket (root
// only, one agent per socket, removed at stop), the answers and errors a person sees, the raw
// HTTP API's errors naming the JSON field, and the config's schedule starting captures by itself.
// The agent runs the real packet_capture receiver when this build has the capture engine (then
// real packets are captured from this test's own cgroup and counted exactly), the stand-in
// (test/support/capture_stand_in.ts) otherwise.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import * as http from 'node:http';
import { join } from 'node:path';
import type { ControlCaptureStatus } from '../../src/receivers/packet_capture/control/capture_starter';
import { TCPSCOPE, testDir } from '../support/agent';
import { captureAgentArgv, captureJson, REAL_CAPTURE_ENGINE, runTcpscope, writeCaptureAgentConfig } from '../support/capture_agent';
import { TestCgroup, testCgroupBase } from '../support/cgroup';
import { DEADLINE_MS, startChild, TCP_PEER, waitUntil, type RunningChild } from '../support/child';
import { requireKernel } from '../support/kernel';

const LISTENING = 'capture control listening on';

async function startCaptureAgent(t: TestContext, children: RunningChild[], schedule?: unknown) {
  const dir = testDir(t, 'tcpscope-capctl');
  const config = writeCaptureAgentConfig({ dir, ...(schedule !== undefined ? { schedule: schedule as never } : {}) });
  const agent = startChild(captureAgentArgv(config.path));
  children.push(agent);
  await waitUntil(() => agent.stderr().includes(LISTENING) || agent.process.exitCode !== null, DEADLINE_MS, 'the agent to serve captures');
  assert.equal(agent.process.exitCode, null, `the agent exited: ${agent.stderr()}`);
  return { dir, config, agent };
}

function cleanup(t: TestContext, children: RunningChild[]): void {
  t.after(() => {
    for (const child of children) child.kill();
  });
}

/** One raw request on the control socket, as curl --unix-socket would send it. */
function rawRequest(socket: string, method: string, path: string, body?: string): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath: socket, method, path }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as unknown }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

test('no agent listening: a clear message that says what to run, exit 1', async (t) => {
  const socket = join(testDir(t, 'tcpscope-capctl-none'), 'capture.sock');
  for (const args of [['list'], ['stop', 'cap-1'], ['start', '--port', '80']]) {
    const result = await runTcpscope(['capture', ...args, '--socket', socket]);
    assert.equal(result.code, 1, args.join(' '));
    assert.equal(
      result.stderr,
      `tcpscope: CAPTURE_AGENT_UNREACHABLE: no tcpscope agent is listening at ${socket} (ENOENT). Start one whose config has a packet_capture receiver: sudo bin/tcpscope run --config <file>; if it runs with another service.capture.control.socket, pass that path with --socket\n`,
    );
    assert.equal(result.stdout, '');
  }
  // Bad flags are refused before any agent is asked: exit 2, the flag named.
  const bad = await runTcpscope(['capture', 'start', '--port', '99999', '--socket', socket]);
  assert.deepEqual(bad, { code: 2, stdout: '', stderr: 'tcpscope: CAPTURE_INVALID_REQUEST: --port: must be a TCP port 1-65535, got "99999"\n' });
});

test('start, list and stop through a running agent; errors name what is wrong', async (t) => {
  if (REAL_CAPTURE_ENGINE && !requireKernel(t)) return;
  const children: RunningChild[] = [];
  cleanup(t, children);
  const base = testCgroupBase('capctl');
  const cgroup = TestCgroup.create(`${base}/client`);
  t.after(() => cgroup.remove(base));
  const { config, agent } = await startCaptureAgent(t, children);
  const socket = config.socket;

  // Root only: the socket is 0600.
  assert.equal(statSync(socket).mode & 0o777, 0o600);
  assert.deepEqual(await captureJson(socket, ['list']), []);
  assert.deepEqual(await runTcpscope(['capture', 'list', '--socket', socket]), { code: 0, stdout: 'no captures (running or recent) in this agent\n', stderr: '' });

  const started = await captureJson<ControlCaptureStatus>(socket, ['start', '--cgroup', cgroup.directory, '--packets', '6', '--name', 'cli-test']);
  assert.equal(started.receiver, 'packet_capture');
  assert.equal(started.state, 'running');
  assert.equal(started.reason, 'on_demand');
  assert.equal(started.name, 'cli-test');
  assert.deepEqual(started.selection, { cgroupIds: [statSync(cgroup.directory).ino], bidirectional: true });
  assert.equal(started.bounds.packets, 6);
  const listed = await captureJson<ControlCaptureStatus[]>(socket, ['list']);
  assert.deepEqual(listed.map((c) => [c.id, c.state]), [[started.id, 'running']]);
  const table = await runTcpscope(['capture', 'list', '--socket', socket]);
  assert.match(table.stdout, new RegExp(`^ID +STATE +REASON +NAME +PACKETS +BYTES +SKIPPED +STARTED +FILES\\n${started.id} +running +on_demand +cli-test +0 +0 +0 +`));

  if (REAL_CAPTURE_ENGINE) {
    // Real packets: one connection from this test's cgroup to a server outside it; the packet bound ends the capture.
    const server = startChild([process.execPath, TCP_PEER, 'server', '100', 'client-first']);
    children.push(server);
    const { v4 } = await server.nextJson<{ v4: number }>();
    const client = startChild(cgroup.wrap([process.execPath, TCP_PEER, 'client', '127.0.0.1', String(v4), '1', '100', '0', 'client-first']));
    children.push(client);
    await client.nextJson();
    let final: ControlCaptureStatus | undefined;
    const deadline = Date.now() + DEADLINE_MS;
    while (Date.now() < deadline) {
      final = (await captureJson<ControlCaptureStatus[]>(socket, ['list'])).find((c) => c.id === started.id);
      if (final?.state !== 'running') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(final!.state, 'finished');
    assert.equal(final!.end, 'packets');
    assert.equal(final!.captured.packets, 6);
    assert.ok(final!.files.length >= 1 && final!.files.every((f) => existsSync(f)), JSON.stringify(final!.files));
  } else {
    const stopped = await captureJson<ControlCaptureStatus>(socket, ['stop', started.id]);
    assert.deepEqual([stopped.id, stopped.state, stopped.end], [started.id, 'stopped', 'stopped']);
  }

  // A capture stopped by hand, printed for a person.
  const second = await captureJson<ControlCaptureStatus>(socket, ['start', '--cgroup', cgroup.directory, '--duration', '10m']);
  const stop = await runTcpscope(['capture', 'stop', second.id, '--socket', socket]);
  assert.equal(stop.code, 0, stop.stderr);
  assert.match(stop.stdout, new RegExp(`^${second.id} stopped \\(stopped\\)  receiver packet_capture, on_demand\\n  selection: cgroup ids ${statSync(cgroup.directory).ino}; both directions\\n  bounds: [^\\n]*600s`));

  // --wait prints the final status once the capture ends (here at its duration).
  const waited = await runTcpscope(['capture', 'start', '--cgroup', cgroup.directory, '--duration', '1s', '--no-bidirectional', '--wait', '--socket', socket]);
  assert.equal(waited.code, 0, waited.stderr);
  assert.match(waited.stdout, /^cap-\d+ started; waiting for it to end \(Ctrl-C stops it\)\ncap-\d+ finished \(duration\)  receiver packet_capture, on_demand\n  selection: cgroup ids \d+; one direction\n/);

  // Ctrl-C during --wait stops the capture and prints its final status.
  const interrupted = spawn(TCPSCOPE, ['capture', 'start', '--cgroup', cgroup.directory, '--wait', '--socket', socket], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push({ kill: () => interrupted.kill('SIGKILL') } as unknown as RunningChild);
  let interruptedOut = '';
  interrupted.stdout.on('data', (d: Buffer) => (interruptedOut += d.toString()));
  const interruptedExit = new Promise<number | null>((resolve) => interrupted.on('exit', (code) => resolve(code)));
  await waitUntil(() => interruptedOut.includes('waiting for it to end'), DEADLINE_MS, 'the waiting capture to start');
  interrupted.kill('SIGINT');
  assert.equal(await interruptedExit, 0);
  assert.match(interruptedOut, /^(cap-\d+) started; waiting for it to end \(Ctrl-C stops it\)\n\1 stopped \(stopped\)  receiver packet_capture, on_demand\n/);

  // Errors, each with its code and what to do.
  assert.deepEqual(await runTcpscope(['capture', 'stop', 'cap-999', '--socket', socket]), {
    code: 1,
    stdout: '',
    stderr: 'tcpscope: CAPTURE_NOT_FOUND: no capture "cap-999" in this agent (tcpscope capture list shows the running and recent ones)\n',
  });
  const noApi = await runTcpscope(['capture', 'start', '--pod', 'shop/web-0', '--socket', socket]);
  assert.deepEqual(noApi, {
    code: 2,
    stdout: '',
    stderr: "tcpscope: CAPTURE_INVALID_REQUEST: selecting pod shop/web-0 needs the Kubernetes API: add a k8s_attributes processor with API access (auth_type auto, serviceAccount or kubeConfig) to a pipeline of the agent's config, or select by --cgroup, --host, --port or --tuple\n",
  });
  const noCgroup = await runTcpscope(['capture', 'start', '--cgroup', `${cgroup.directory}-missing`, '--socket', socket]);
  assert.equal(noCgroup.code, 2);
  assert.ok(noCgroup.stderr.startsWith(`tcpscope: CAPTURE_INVALID_REQUEST: selection.cgroupPaths: ${cgroup.directory}-missing is not`), noCgroup.stderr);
  const wrongReceiver = await runTcpscope(['capture', 'start', '--port', '80', '--receiver', 'packet_capture/other', '--socket', socket]);
  assert.deepEqual(wrongReceiver, { code: 1, stdout: '', stderr: 'tcpscope: CAPTURE_NO_RECEIVER: this agent runs no receiver "packet_capture/other"; its packet_capture receivers: packet_capture\n' });

  // The HTTP API refuses a wrong body with the JSON field named.
  assert.deepEqual(await rawRequest(socket, 'POST', '/v1/captures', '{"selection":{"sourcePort":0}}'), {
    status: 400,
    body: { error: { code: 'CAPTURE_INVALID_REQUEST', message: 'selection.sourcePort: must be a TCP port 1-65535, got 0' } },
  });
  assert.deepEqual(await rawRequest(socket, 'POST', '/v1/captures', '{"selection":{"port":80}}'), {
    status: 400,
    body: { error: { code: 'CAPTURE_INVALID_REQUEST', message: 'selection.port: unknown field; expected one of: cgroupIds, cgroupPaths, sourceAddress, sourcePort, destinationAddress, destinationPort, bidirectional' } },
  });
  assert.deepEqual(await rawRequest(socket, 'POST', '/v1/captures', '{"selection":{}}'), {
    status: 400,
    body: { error: { code: 'CAPTURE_INVALID_REQUEST', message: 'selection: selects nothing: set pods or one of selection.cgroupIds, cgroupPaths, sourceAddress, sourcePort, destinationAddress, destinationPort' } },
  });
  assert.deepEqual(await rawRequest(socket, 'POST', '/v1/captures', 'port=80'), {
    status: 400,
    body: { error: { code: 'CAPTURE_INVALID_REQUEST', message: 'the request body is not JSON; send a JSON object such as {"selection": {"sourcePort": 80}}' } },
  });
  assert.deepEqual((await rawRequest(socket, 'GET', '/v1/captures/cap-1?wait=soon')).body, { error: { code: 'CAPTURE_INVALID_REQUEST', message: 'wait: must be milliseconds (0-60000), got "soon"' } });
  assert.equal((await rawRequest(socket, 'GET', '/v2/things')).status, 404);

  // One agent per socket: a second one refuses to start, saying why.
  const second_agent = startChild(captureAgentArgv(config.path));
  children.push(second_agent);
  assert.equal(await second_agent.exited(DEADLINE_MS), 1);
  assert.ok(second_agent.stderr().includes(`another process already serves captures at ${socket} (a second agent?); give this agent another service.capture.control.socket`), second_agent.stderr());

  agent.process.kill('SIGTERM');
  assert.equal(await agent.exited(DEADLINE_MS), 0, agent.stderr());
  assert.equal(existsSync(socket), false, 'the socket is removed at stop');
});

test('the config schedule starts captures by itself, named and with reason schedule', async (t) => {
  if (REAL_CAPTURE_ENGINE && !requireKernel(t)) return;
  const children: RunningChild[] = [];
  cleanup(t, children);
  const base = testCgroupBase('capctl-sched');
  const cgroup = TestCgroup.create(`${base}/tick`);
  t.after(() => cgroup.remove(base));
  const { config, agent } = await startCaptureAgent(t, children, [
    { name: 'tick', every: '10s', selection: { cgroup: [cgroup.directory] }, bounds: { duration: '1s', packets: 50 } },
  ]);
  // The schedule's line can follow the control socket's, the agent's readiness line: wait for it.
  await waitUntil(() => /scheduled capture "tick": first at \S+, then every 10s/.test(agent.stderr()), DEADLINE_MS, 'the schedule line');
  // The first start is one interval after the agent started; two starts show it repeats.
  await waitUntil(() => (agent.stderr().match(/scheduled capture "tick" started as cap-\d+ \(receiver packet_capture\)/g) ?? []).length >= 2, DEADLINE_MS + 20_000, 'two scheduled starts');
  const captures = await captureJson<ControlCaptureStatus[]>(config.socket, ['list']);
  assert.ok(captures.length >= 2, JSON.stringify(captures));
  for (const capture of captures) {
    assert.equal(capture.reason, 'schedule');
    assert.equal(capture.name, 'tick');
    assert.deepEqual(capture.selection.cgroupIds, [statSync(cgroup.directory).ino]);
    assert.equal(capture.bounds.durationMs, 1000);
  }
  assert.equal(captures[0].state, 'finished', 'the first ended at its duration before the second started');
  assert.equal(captures[0].end, 'duration');
});
