// The CLI as a user meets it (the real bin/tcpscope.js in a child process), and the run loop
// in-process with fake components and a fake signal source.
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Consumers, ExporterFactory, Host, ReceiverFactory } from './component';
import { checkConfig, runUntilStopped } from './cli';
import { ExportError } from './errors';
import { findCgroupV2Root } from './host/cgroup_resolver';
import { FactoryRegistry } from './pipeline';

const ROOT = resolve(__dirname, '../..');
const BIN = join(ROOT, 'bin', 'tcpscope.js');
const PACKAGE_VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

let dir = '';
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'tcpscope-cli-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

function writeConfig(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

function tcpscope(...args: string[]) {
  return tcpscopeWith({}, ...args);
}

function tcpscopeWith(extraEnv: NodeJS.ProcessEnv, ...args: string[]) {
  const env = { ...process.env, ...extraEnv };
  delete env.OTLP_HOST;
  const child = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env, timeout: 30_000 });
  return { status: child.status, stdout: child.stdout, stderr: child.stderr };
}

describe('bin/tcpscope.js', () => {
  it('validate: an unknown top-level key exits 2 with one message', () => {
    const file = writeConfig('bad.yaml', 'recievers: {}\n');
    const { status, stdout, stderr } = tcpscope('validate', '--config', file);
    assert.equal(stderr, 'tcpscope: CONFIG_INVALID: recievers: unknown top-level key; expected one of: receivers, processors, exporters, service\n');
    assert.equal(stdout, '');
    assert.equal(status, 2);
  });

  it('validate: a YAML syntax error names the file and line', () => {
    const file = writeConfig('syntax.yaml', 'service:\n  pipelines: [\n');
    const { status, stderr } = tcpscope('validate', '--config', file);
    assert.equal(stderr, `tcpscope: CONFIG_INVALID: ${file}:3:1: YAML syntax error: Flow sequence in block collection must be sufficiently indented and end with a ], at the end of the file\n`);
    assert.equal(status, 2);
  });

  it('validate: an unset environment variable names the key', () => {
    const file = writeConfig('env.yaml', 'exporters:\n  otlp:\n    endpoint: ${env:OTLP_HOST}\n');
    const { status, stderr } = tcpscope('validate', '--config', file);
    assert.equal(
      stderr,
      'tcpscope: CONFIG_INVALID: exporters.otlp.endpoint: environment variable OTLP_HOST is not set; set it or give a default with ${env:OTLP_HOST:-default}\n',
    );
    assert.equal(status, 2);
  });

  it('run: an invalid config exits 2 before anything starts', () => {
    const { status, stdout, stderr } = tcpscope('run', '--config', join(dir, 'missing.yaml'));
    assert.equal(stderr, `tcpscope: CONFIG_INVALID: cannot read config file ${join(dir, 'missing.yaml')}: no such file\n`);
    assert.equal(stdout, '');
    assert.equal(status, 2);
  });

  it('--version prints the package version', () => {
    const { status, stdout } = tcpscope('--version');
    assert.equal(stdout, `${PACKAGE_VERSION}\n`);
    assert.equal(status, 0);
  });

  it('--help describes run and validate with an example', () => {
    const { status, stdout } = tcpscope('--help');
    assert.equal(status, 0);
    assert.match(stdout, /^Usage: tcpscope \[options\] \[command\]/);
    assert.match(stdout, /\n {2}run \[options\] +start the agent/);
    assert.match(stdout, /\n {2}validate \[options\] +check a config file/);
    assert.match(stdout, /\$ tcpscope validate --config config\/tcpscope.yaml/);
    assert.match(stdout, /a config file is at most 4 MiB/);
  });

  it('says how to build when dist/ is missing', () => {
    const unbuilt = join(dir, 'unbuilt');
    mkdirSync(join(unbuilt, 'bin'), { recursive: true });
    copyFileSync(BIN, join(unbuilt, 'bin', 'tcpscope.js'));
    const child = spawnSync(process.execPath, [join(unbuilt, 'bin', 'tcpscope.js'), '--version'], { encoding: 'utf8' });
    assert.equal(child.stderr, 'tcpscope is not built: run `npm run build` first\n');
    assert.equal(child.status, 1);
  });
});

/** A config with the shipped components; `receivers`, `exporters` and `processors` are YAML blocks. */
function shipped(parts: { top?: string; receivers?: string; processors?: string; exporters?: string; logs?: string }): string {
  const receivers = parts.receivers ?? '  tcp_lifecycle:\n';
  const exporters = parts.exporters ?? '  debug:\n';
  const exporterId = /^ {2}([a-z_/]+):/.exec(exporters)?.[1] ?? 'debug';
  const receiverId = /^ {2}([a-z_/]+):/.exec(receivers)?.[1] ?? 'tcp_lifecycle';
  const processorId = parts.processors ? /^ {2}([a-z_/]+):/.exec(parts.processors)?.[1] : undefined;
  return [
    parts.top ?? '',
    `receivers:\n${receivers}`,
    parts.processors ? `processors:\n${parts.processors}` : '',
    `exporters:\n${exporters}`,
    'service:\n  pipelines:\n',
    `    logs: {receivers: [${receiverId}], ${processorId ? `processors: [${processorId}], ` : ''}exporters: [${exporterId}]}\n`,
  ].join('');
}

// Each case was accepted by `validate` and then refused (or run wrongly) by `run`, or refused
// by both with different words. Both commands must now give the same verdict and the same line.
describe('validate and run agree', () => {
  const bomb = ['a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]']
    .concat(Array.from({ length: 9 }, (_, i) => `a${i + 1}: &a${i + 1} [${Array(9).fill(`*a${i}`).join(', ')}]`))
    .join('\n');
  const missingCgroup = `/tcpscope-no-such-cgroup-${randomBytes(6).toString('hex')}`;
  const cases: { name: string; config: () => string; message: (file: string) => string; env?: NodeJS.ProcessEnv }[] = [
    {
      name: 'a tcp_handshake cgroup_prefix that does not exist',
      config: () => shipped({ receivers: `  tcp_handshake:\n    cgroup_prefix: ${missingCgroup}\n` }),
      message: () =>
        `receivers.tcp_handshake.cgroup_prefix: no cgroup ${JSON.stringify(missingCgroup)} under the cgroup v2 root ${findCgroupV2Root() ?? '(not mounted)'}`,
    },
    {
      name: 'k8s_attributes auth_type kubeConfig without a kubeconfig file',
      config: () => shipped({ processors: '  k8s_attributes:\n    auth_type: kubeConfig\n' }),
      env: { KUBECONFIG: '/nonexistent/tcpscope-test-kubeconfig' },
      message: () =>
        'processors.k8s_attributes.auth_type: is kubeConfig, but there is no kubeconfig file (looked at $KUBECONFIG=/nonexistent/tcpscope-test-kubeconfig)',
    },
    {
      name: 'otlp retry max_interval below initial_interval',
      config: () =>
        shipped({ exporters: '  otlp:\n    endpoint: localhost:4317\n    retry_on_failure: {initial_interval: 10s, max_interval: 1s}\n' }),
      message: () => 'exporters.otlp.retry_on_failure.max_interval: must be at least initial_interval ("10s"), got "1s"',
    },
    {
      name: 'a ring buffer size the kernel refuses (2^32 wraps to 0)',
      config: () => shipped({ receivers: '  tcp_lifecycle:\n    ring_buffer_size: 4294967296\n' }),
      message: () =>
        'receivers.tcp_lifecycle.ring_buffer_size: must be a power of two from 4096 (the page size) to 2147483648 bytes: the kernel takes only a power-of-two multiple of the page size, e.g. 1048576 for 1 MiB, got 4294967296 (Bytes of the kernel ring buffer for events (a power-of-two multiple of the page size, at most 2 GiB). Events beyond it are dropped and counted in tcpscope.receiver.dropped_events; default 4194304)',
    },
    {
      name: 'a ring buffer size that is not a power of two',
      config: () => shipped({ receivers: '  tcp_handshake:\n    ring_buffer_size: 12288\n' }),
      message: () =>
        'receivers.tcp_handshake.ring_buffer_size: must be a power of two from 4096 (the page size) to 2147483648 bytes: the kernel takes only a power-of-two multiple of the page size, e.g. 1048576 for 1 MiB, got 12288 (Bytes of the kernel ring buffer for events (a power-of-two multiple of the page size, at most 2 GiB); default 1048576)',
    },
    {
      name: 'a top-level __proto__ key',
      config: () => shipped({ top: '__proto__: {receivers: 1}\n' }),
      message: (file) => `__proto__: "__proto__" is not allowed as a key (${file}:1:1); no setting has this name`,
    },
    {
      name: '__proto__ in component settings',
      config: () => shipped({ receivers: '  tcp_lifecycle:\n    __proto__: {max_connections: 2048}\n' }),
      message: (file) => `receivers.tcp_lifecycle.__proto__: "__proto__" is not allowed as a key (${file}:3:5); no setting has this name`,
    },
    {
      name: 'a file exporter path that is a directory',
      config: () => shipped({ exporters: `  file:\n    path: ${dir}\n` }),
      message: () => `exporters.file.path: is a directory, got ${JSON.stringify(dir)}; name a file in it, e.g. ${JSON.stringify(`${dir}/telemetry.jsonl`)}`,
    },
    {
      name: 'a file exporter path below a regular file',
      config: () => {
        writeFileSync(join(dir, 'plain'), '');
        return shipped({ exporters: `  file:\n    path: ${dir}/plain/sub/out.jsonl\n` });
      },
      message: () => `exporters.file.path: cannot be created: ${dir}/plain is not a directory (ENOTDIR), got "${dir}/plain/sub/out.jsonl"`,
    },
    {
      name: 'collection_interval longer than a Node.js timer',
      config: () => shipped({ receivers: '  tcp_lifecycle:\n    collection_interval: 1000h\n' }),
      message: () =>
        'receivers.tcp_lifecycle.collection_interval: must be a duration of at most 2147483647ms (about 596h): Node.js runs longer timers after 1 ms, got "1000h" (How often the kernel aggregates are read and exported as metrics ("10s", "500ms" or milliseconds); default "10s")',
    },
    {
      name: 'file flush_interval longer than a Node.js timer',
      config: () => shipped({ exporters: `  file:\n    path: ${dir}/out.jsonl\n    flush_interval: 1000h\n` }),
      message: () =>
        'exporters.file.flush_interval: must be a duration of at most 2147483647ms (about 596h): Node.js runs longer timers after 1 ms, got "1000h" (how often buffered lines are appended: milliseconds, or a duration such as "500ms" or "1s"; default "1s")',
    },
    {
      name: 'otlp timeout longer than a Node.js timer',
      config: () => shipped({ exporters: '  otlp:\n    timeout: 2147483648\n' }),
      message: () =>
        'exporters.otlp.timeout: must be a duration of at most 2147483647ms (about 596h): Node.js runs longer timers after 1 ms, got 2147483648 (deadline of one export attempt, and how long shutdown keeps delivering queued batches; default "10s")',
    },
    {
      name: 'a sampling threshold with min above max',
      config: () =>
        shipped({ processors: '  sampling:\n    policies: [{threshold: {field: tcp.duration, min: 2, max: 1}}]\n' }),
      message: () =>
        'processors.sampling.policies[0].threshold.min: must be at most max (1), got 2: no value lies between them, so the policy would keep nothing',
    },
    {
      name: 'NaN in a setting',
      config: () => shipped({ receivers: '  tcp_lifecycle:\n    max_cgroups: .nan\n' }),
      message: () =>
        "receivers.tcp_lifecycle.max_cgroups: must be an integer from 16 to 1048576, got NaN (Distinct (cgroup, role, connection end) series in the kernel aggregates (a (cgroup, role) takes one per way its connections ended: 1 when all end orderly, at most 5); beyond it, data goes to one series with otel.metric.overflow=true; default 4096)",
    },
    {
      name: 'a "billion laughs" alias bomb',
      config: () => bomb,
      message: (file) =>
        `${file}: YAML aliases (*name) expand the document too much: an anchor may be used at most 100 times over; write the values out or use fewer aliases`,
    },
    {
      name: 'a second YAML document',
      config: () => `${shipped({})}---\n`,
      message: (file) =>
        `${file}:8:1: YAML syntax error: a config file holds one YAML document; remove the "---" or "..." line that starts another one, at "---"`,
    },
  ];
  cases.forEach(({ name, config, message, env }, i) => {
    it(name, () => {
      const file = writeConfig(`agree-${i}.yaml`, config());
      const expected = `tcpscope: CONFIG_INVALID: ${message(file)}\n`;
      for (const command of ['validate', 'run']) {
        const { status, stdout, stderr } = tcpscopeWith(env ?? {}, command, '--config', file);
        assert.equal(stderr, expected, command);
        assert.equal(stdout, '', command);
        assert.equal(status, 2, command);
      }
    });
  });
});

/** Fake components: a receiver that can report a fatal error and an exporter whose shutdown can hang. */
class Fakes {
  readonly events: string[] = [];
  readonly log: string[] = [];
  host: Host | undefined;
  next: Consumers | undefined;
  startGate: Promise<void> = Promise.resolve();
  shutdownGate: Promise<void> = Promise.resolve();
  failStart = false;

  registry(): FactoryRegistry {
    const source: ReceiverFactory = {
      kind: 'receiver',
      type: 'source',
      signals: ['logs'],
      schema: {},
      create: (settings, _config, next) => {
        this.next = next;
        return {
          start: async (host) => {
            this.events.push('start source');
            this.host = host;
            await this.startGate;
            if (this.failStart) throw new ExportError('source cannot start');
          },
          shutdown: async () => {
            this.events.push('shutdown source');
          },
        };
      },
    };
    const sink: ExporterFactory = {
      kind: 'exporter',
      type: 'sink',
      signals: ['logs'],
      schema: {},
      create: () => ({
        consumers: { logs: { consume: async () => undefined } },
        forceFlush: async () => undefined,
        start: async () => {
          this.events.push('start sink');
        },
        shutdown: async () => {
          this.events.push('shutdown sink');
          await this.shutdownGate;
        },
      }),
    };
    return new FactoryRegistry([source, sink]);
  }

  /** Log lines without their timestamp: `INFO  message`. */
  messages(): string[] {
    return this.log.map((line) => line.slice(line.indexOf(' ') + 1));
  }

  async until(predicate: () => boolean): Promise<void> {
    while (!predicate()) await new Promise((r) => setImmediate(r));
    // One more turn so runUntilStopped has taken hold of the agent runAgent returned.
    await new Promise((r) => setImmediate(r));
  }
}

const VALID = `
receivers: {source: }
exporters: {sink: }
service:
  pipelines:
    logs:
      receivers: [source]
      exporters: [sink]
`;

function deferred(): { promise: Promise<void>; release: () => void } {
  let release: () => void = () => undefined;
  const promise = new Promise<void>((r) => (release = r));
  return { promise, release };
}

describe('runUntilStopped', () => {
  function start(fakes: Fakes, signals: EventEmitter, forceExit: (code: number) => void = () => assert.fail('no forced exit')) {
    const configPath = writeConfig('valid.yaml', VALID);
    return runUntilStopped(
      { configPath, registry: fakes.registry(), env: {}, writeLog: (line) => fakes.log.push(line) },
      signals,
      forceExit,
    );
  }

  it('prints a banner, runs until SIGTERM, shuts down in order and exits 0', async () => {
    const fakes = new Fakes();
    const signals = new EventEmitter();
    const exit = start(fakes, signals);
    await fakes.until(() => fakes.messages().some((m) => m.includes('running')));
    signals.emit('SIGTERM', 'SIGTERM');
    assert.equal(await exit, 0);
    assert.deepEqual(fakes.events, ['start sink', 'start source', 'shutdown source', 'shutdown sink']);
    assert.deepEqual(fakes.messages(), [
      `INFO  tcpscope ${PACKAGE_VERSION} starting with config ${join(dir, 'valid.yaml')}`,
      'INFO  receivers: source',
      'INFO  processors: (none)',
      'INFO  exporters: sink',
      'INFO  pipeline logs: source -> sink',
      `INFO  cgroup v2 hierarchy: ${cgroupLine()}`,
      'INFO  running 1 pipeline(s); stop with SIGTERM or SIGINT, flush with SIGHUP',
      'INFO  received SIGTERM, shutting down (limit 10 s)',
      'INFO  stopped',
    ]);
    assert.equal(signals.listenerCount('SIGTERM') + signals.listenerCount('SIGINT'), 0);
  });

  it('a second signal forces exit 1 without waiting for shutdown', async () => {
    const fakes = new Fakes();
    const gate = deferred();
    fakes.shutdownGate = gate.promise;
    const signals = new EventEmitter();
    const forced: number[] = [];
    const exit = start(fakes, signals, (code) => forced.push(code));
    await fakes.until(() => fakes.messages().some((m) => m.includes('running')));
    signals.emit('SIGINT', 'SIGINT');
    await fakes.until(() => fakes.events.includes('shutdown sink'));
    signals.emit('SIGINT', 'SIGINT');
    assert.deepEqual(forced, [1]);
    assert.ok(fakes.messages().includes('ERROR received SIGINT again; exiting without waiting for shutdown'));
    gate.release();
    assert.equal(await exit, 0);
  });

  it('gives up on a shutdown that takes longer than 10 s and exits 1', async (t) => {
    const fakes = new Fakes();
    fakes.shutdownGate = new Promise(() => undefined);
    const signals = new EventEmitter();
    const exit = start(fakes, signals);
    await fakes.until(() => fakes.messages().some((m) => m.includes('running')));
    t.mock.timers.enable({ apis: ['setTimeout'] });
    signals.emit('SIGTERM', 'SIGTERM');
    await fakes.until(() => fakes.events.includes('shutdown sink'));
    t.mock.timers.tick(9_999);
    await new Promise((r) => setImmediate(r));
    assert.ok(!fakes.messages().some((m) => m.includes('did not finish')));
    t.mock.timers.tick(1);
    assert.equal(await exit, 1);
    assert.ok(fakes.messages().includes('ERROR shutdown did not finish within 10 s; giving up (buffered data may be lost)'));
  });

  it('a fatal error from a component shuts down and exits 1', async () => {
    const fakes = new Fakes();
    const exit = start(fakes, new EventEmitter());
    await fakes.until(() => fakes.messages().some((m) => m.includes('running')));
    fakes.host?.reportFatal(new ExportError('collector unreachable for 5 minutes'));
    assert.equal(await exit, 1);
    assert.deepEqual(fakes.events, ['start sink', 'start source', 'shutdown source', 'shutdown sink']);
    const messages = fakes.messages();
    assert.ok(messages.includes('ERROR fatal: EXPORT_FAILED: collector unreachable for 5 minutes'));
    assert.ok(messages.includes('INFO  a component failed, shutting down (limit 10 s)'));
  });

  it('a signal during start-up stops the agent once it has started', async () => {
    const fakes = new Fakes();
    const gate = deferred();
    fakes.startGate = gate.promise;
    const signals = new EventEmitter();
    const exit = start(fakes, signals);
    await fakes.until(() => fakes.events.includes('start source'));
    signals.emit('SIGTERM', 'SIGTERM');
    gate.release();
    assert.equal(await exit, 0);
    assert.deepEqual(fakes.events, ['start sink', 'start source', 'shutdown source', 'shutdown sink']);
    assert.ok(fakes.messages().includes('INFO  received SIGTERM during start-up, shutting down (limit 10 s)'));
  });

  it('a failed start rolls back and throws the error', async () => {
    const fakes = new Fakes();
    fakes.failStart = true;
    const signals = new EventEmitter();
    await assert.rejects(start(fakes, signals), { code: 'EXPORT_FAILED', message: 'source cannot start' });
    assert.deepEqual(fakes.events, ['start sink', 'start source', 'shutdown source', 'shutdown sink']);
    assert.equal(signals.listenerCount('SIGTERM'), 0);
  });
});

describe('checkConfig', () => {
  it('prints the file and each pipeline', () => {
    const file = writeConfig('ok.yaml', VALID);
    assert.deepEqual(checkConfig(file, new Fakes().registry(), {}), [`config OK: ${file}`, '  logs: source -> sink']);
  });
});

/** The start-up line naming the host's cgroup2 root, as on this machine. */
function cgroupLine(): string {
  const root = findCgroupV2Root();
  return root ? `${root} (found in /proc/self/mountinfo; the host's root cgroup)` : 'none (no cgroup2 mounted): sockets are not named by cgroup path';
}
