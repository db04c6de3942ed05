// The CLI as a user meets it (the real bin/tcpscope.js in a child process), and the run loop
// in-process with fake components and a fake signal source.
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Consumers, ExporterFactory, Host, ReceiverFactory } from './component';
import { checkConfig, runUntilStopped } from './cli';
import { ExportError } from './errors';
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
  const env = { ...process.env };
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
    assert.equal(stderr, `tcpscope: CONFIG_INVALID: ${file}:3:1: YAML syntax error: Flow sequence in block collection must be sufficiently indented and end with a ]\n`);
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
