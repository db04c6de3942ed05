// service.capture: the control socket and the schedule, through the agent's config validation
// (what `tcpscope validate` and `tcpscope run` say), and the schedule's timing with a fake clock.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FACTORIES, defaultRegistry } from '../../../components';
import { parseConfigText, validateConfig } from '../../../config';
import { ConfigError } from '../../../errors';
import type { AgentLogger } from '../../../logger';
import { FactoryRegistry } from '../../../pipeline/registry';
import { standInCaptureFactory, StandInCaptureService } from '../../../../test/support/capture_stand_in';
import { CaptureServiceRegistry, type CaptureRequest } from '../capture_api';
import { CaptureStarter } from './capture_starter';
import { DEFAULT_CONTROL_SOCKET } from './control_client';
import { PodCgroupResolver } from './pod_cgroups';
import { CaptureSchedule, nextTimeOfDay, type ScheduleClock } from './schedule';

// The real packet_capture receiver when this build has it, the stand-in otherwise: the section is
// checked the same way whatever serves the captures.
const registry = defaultRegistry().get('receiver', 'packet_capture') ? defaultRegistry() : new FactoryRegistry([...FACTORIES, standInCaptureFactory]);

const PIPELINES = `
  pipelines:
    logs: {receivers: [packet_capture], exporters: [debug]}`;

function validate(capture: string, receivers = 'packet_capture:', pipelines = PIPELINES) {
  const yaml = `receivers:\n  ${receivers}\nexporters:\n  debug:\nservice:\n  capture:\n${capture.replace(/^/gm, '    ')}${pipelines}\n`;
  return validateConfig(parseConfigText(yaml, 'test.yaml', {}), registry);
}

test('defaults: the socket under /run/tcpscope, no schedule', () => {
  const config = validateConfig(parseConfigText(`receivers: {packet_capture: }\nexporters: {debug: }\nservice:${PIPELINES}\n`, 'test.yaml', {}), registry);
  assert.deepEqual(config.capture, { control: { socket: DEFAULT_CONTROL_SOCKET }, schedule: [] });
  assert.equal(DEFAULT_CONTROL_SOCKET, '/run/tcpscope/capture.sock');
});

test('a schedule entry becomes the request the CLI would send', () => {
  const config = validate(`control: {socket: /tmp/x/capture.sock}
schedule:
  - name: web-hourly
    every: 1h
    selection: {selector: {app: web}, namespace: shop, port: 443, bidirectional: false}
    bounds: {packets: 1000, duration: 30s, snaplen: 128, sample: 2, rate: 500, bytes: 1MiB}
  - name: nightly
    at: "03:30"
    selection: {tuple: "198.18.0.1:40000,198.18.0.2:80"}
    bounds: {duration: 10m}`);
  assert.deepEqual(config.capture, {
    control: { socket: '/tmp/x/capture.sock' },
    schedule: [
      {
        name: 'web-hourly',
        everyMs: 3_600_000,
        request: {
          name: 'web-hourly',
          selection: { sourcePort: 443, bidirectional: false },
          pods: { namespace: 'shop', labels: { app: 'web' } },
          bounds: { packets: 1000, bytes: 1_048_576, snaplen: 128, durationMs: 30_000, sampleOneIn: 2, packetsPerSecond: 500 },
        },
      },
      {
        name: 'nightly',
        everyMs: 86_400_000,
        at: { hour: 3, minute: 30 },
        request: { name: 'nightly', selection: { sourceAddress: '198.18.0.1', sourcePort: 40000, destinationAddress: '198.18.0.2', destinationPort: 80 }, bounds: { durationMs: 600_000 } },
      },
    ],
  });
});

const BAD: readonly (readonly [string, string])[] = [
  ['control: {socket: run/capture.sock}', 'service.capture.control.socket: must be an absolute path for the unix socket (or "" to serve none), got "run/capture.sock"'],
  [`control: {socket: /${'x'.repeat(120)}}`, 'service.capture.control.socket: is 121 bytes long; a unix socket path is at most 107 bytes'],
  ['control: {path: /tmp/s}', 'service.capture.control.path: unknown key; expected one of: socket'],
  ['schedules: []', 'service.capture.schedules: unknown key; expected one of: control, schedule'],
  ['schedule: {name: x}', 'service.capture.schedule: must be a list of scheduled captures, got {"name":"x"}'],
  ['schedule: [{every: 1h, selection: {port: 80}, bounds: {duration: 1m}}]', 'service.capture.schedule[0].name: must be 1-64 characters of A-Z a-z 0-9 _ . - (it names the captures and their files), got nothing'],
  ['schedule: [{name: a, selection: {port: 80}, bounds: {duration: 1m}}]', 'service.capture.schedule[0]: needs every (an interval such as "1h") or at (a UTC time of day such as "03:30"), or both'],
  ['schedule: [{name: a, every: often, selection: {port: 80}, bounds: {duration: 1m}}]', 'service.capture.schedule[0].every: must be an interval such as "30m", "1h" or "24h", got "often"'],
  ['schedule: [{name: a, every: 1s, selection: {port: 80}, bounds: {duration: 1m}}]', 'service.capture.schedule[0].every: must be between 10s and 596h, got "1s"'],
  ['schedule: [{name: a, at: "25:00", selection: {port: 80}, bounds: {duration: 1m}}]', 'service.capture.schedule[0].at: must be a UTC time of day as "HH:MM" (00:00-23:59, quoted in YAML), got "25:00"'],
  ['schedule: [{name: a, every: 1h, selection: {port: 80}}]', 'service.capture.schedule[0].bounds.duration: missing; a scheduled capture needs a duration shorter than its interval, so that no one has to stop it'],
  ['schedule: [{name: a, every: 1m, selection: {port: 80}, bounds: {duration: 1m}}]', 'service.capture.schedule[0].bounds.duration: is "1m", not shorter than the interval between starts (60s); the next start would find it still running'],
  ['schedule: [{name: a, every: 1h, bounds: {duration: 1m}}]', 'service.capture.schedule[0].selection: nothing selected: give at least one of selection.pod, selection.selector, selection.namespace, selection.cgroup, selection.host, selection.port or selection.tuple (a capture of the whole host is refused)'],
  ['schedule: [{name: a, every: 1h, selection: {port: 0}, bounds: {duration: 1m}}]', 'service.capture.schedule[0].selection.port: must be a TCP port 1-65535, got 0'],
  ['schedule: [{name: a, every: 1h, selection: {pod: shop/x, selector: app=web}, bounds: {duration: 1m}}]', 'service.capture.schedule[0].selection.selector: cannot be combined with selection.pod (selection.pod names one pod; a selector picks pods by labels)'],
  ['schedule: [{name: a, every: 1h, selection: {labels: {app: web}}, bounds: {duration: 1m}}]', 'service.capture.schedule[0].selection.labels: unknown key; expected one of: pod, selector, namespace, cgroup, host, port, tuple, bidirectional'],
  ['schedule: [{name: a, every: 1h, selection: {port: 80}, bounds: {duration: 1m, snaplen: -1}}]', 'service.capture.schedule[0].bounds.snaplen: must be bytes kept of each packet from its IP header, 0 (headers only) to 65535, got -1'],
  ['schedule: [{name: a, every: 1h, selection: {port: 80}, bounds: {duration: 1m, packets: many}}]', 'service.capture.schedule[0].bounds.packets: must be a number of packets, at least 1, got "many"'],
  ['schedule: [{name: a, every: 1h, receiver: packet_capture/other, selection: {port: 80}, bounds: {duration: 1m}}]', 'service.capture.schedule[0].receiver: must be one of the packet_capture receivers defined (packet_capture), got "packet_capture/other"'],
  ['schedule: [{name: a, every: 1h, selection: {port: 80}, bounds: {duration: 1m}}, {name: a, every: 2h, selection: {port: 81}, bounds: {duration: 1m}}]', 'service.capture.schedule[1].name: "a" names another entry too; names must be unique'],
];

for (const [capture, message] of BAD) {
  test(`refuses ${capture}`, () => {
    assert.throws(() => validate(capture), (error: unknown) => {
      assert.ok(error instanceof ConfigError, String(error));
      assert.equal(error.message, message);
      return true;
    });
  });
}

test('a schedule without a packet_capture receiver, or with two and no receiver named, is refused', () => {
  assert.throws(
    () => validate('schedule: [{name: a, every: 1h, selection: {port: 80}, bounds: {duration: 1m}}]', 'tcp_lifecycle:', '\n  pipelines:\n    logs: {receivers: [tcp_lifecycle], exporters: [debug]}'),
    { message: 'service.capture.schedule[0]: a scheduled capture needs a packet_capture receiver: define one under receivers and list it in a logs pipeline' },
  );
  assert.throws(
    () => validate('schedule: [{name: a, every: 1h, selection: {port: 80}, bounds: {duration: 1m}}]', 'packet_capture:\n  packet_capture/b:', '\n  pipelines:\n    logs: {receivers: [packet_capture, packet_capture/b], exporters: [debug]}'),
    { message: 'service.capture.schedule[0].receiver: missing; the config defines 2 packet_capture receivers (packet_capture, packet_capture/b): name one' },
  );
  assert.throws(() => validate('nonsense: 1'), { message: 'service.capture.nonsense: unknown key; expected one of: control, schedule' });
});

test('nextTimeOfDay: the same day when still ahead, else the next', () => {
  const at = { hour: 3, minute: 30 };
  assert.equal(new Date(nextTimeOfDay(Date.parse('2026-11-29T01:00:00Z'), at)).toISOString(), '2026-11-29T03:30:00.000Z');
  assert.equal(new Date(nextTimeOfDay(Date.parse('2026-11-29T03:30:00Z'), at)).toISOString(), '2026-11-29T03:30:00.000Z');
  assert.equal(new Date(nextTimeOfDay(Date.parse('2026-11-29T03:30:00.001Z'), at)).toISOString(), '2026-11-30T03:30:00.000Z');
  assert.equal(new Date(nextTimeOfDay(Date.parse('2026-12-31T23:59:00Z'), at)).toISOString(), '2027-01-01T03:30:00.000Z');
});

/** A clock whose time moves only when the test says; timers fire in due order. */
class FakeClock implements ScheduleClock {
  private timers: { at: number; fn: () => void; handle: number }[] = [];
  private nextHandle = 1;
  constructor(public time: number) {}
  now(): number {
    return this.time;
  }
  setTimeout(fn: () => void, ms: number): unknown {
    const handle = this.nextHandle++;
    this.timers.push({ at: this.time + ms, fn, handle });
    return handle;
  }
  clearTimeout(handle: unknown): void {
    this.timers = this.timers.filter((t) => t.handle !== handle);
  }
  /** Moves to `until`, firing each due timer at its time, and lets the started captures settle. */
  async advance(until: number): Promise<void> {
    for (let fired = 0; fired < 1000; fired++) {
      this.timers.sort((a, b) => a.at - b.at);
      const due = this.timers[0];
      if (!due || due.at > until) break;
      this.timers.shift();
      this.time = due.at;
      due.fn();
      for (let i = 0; i < 10; i++) await Promise.resolve();
    }
    this.time = until;
  }
}

function recordingLogger(lines: string[]): AgentLogger {
  const log = (level: string) => (message: string) => void lines.push(`${level} ${message}`);
  return { debug: log('DEBUG'), info: log('INFO'), warn: log('WARN'), error: log('ERROR') } as unknown as AgentLogger;
}

test('the schedule starts each entry at its times, skips a start while its last capture runs, and logs a failed start', async () => {
  const services = new CaptureServiceRegistry();
  const service = new StandInCaptureService('/');
  const started: CaptureRequest[] = [];
  const start = service.start.bind(service);
  service.start = (request) => {
    started.push(request);
    return start(request);
  };
  services.register('packet_capture', service);
  const starter = new CaptureStarter(services, new PodCgroupResolver(() => [], undefined));
  const lines: string[] = [];
  const t0 = Date.parse('2026-11-29T02:00:00Z');
  const clock = new FakeClock(t0);
  const schedule = new CaptureSchedule(
    [
      { name: 'every-10m', everyMs: 600_000, request: { name: 'every-10m', selection: { sourcePort: 80 }, bounds: { durationMs: 60_000 } } },
      { name: 'at-0330', everyMs: 86_400_000, at: { hour: 3, minute: 30 }, request: { name: 'at-0330', selection: { destinationPort: 443 } } },
      { name: 'pods', everyMs: 900_000, request: { name: 'pods', selection: {}, pods: { labels: { app: 'web' } } } },
    ],
    starter,
    recordingLogger(lines),
    clock,
  );
  schedule.start();
  await clock.advance(t0 + 599_999);
  assert.equal(started.length, 0, 'nothing before the first interval');
  await clock.advance(t0 + 600_000);
  assert.deepEqual(started, [{ name: 'every-10m', reason: 'schedule', selection: { sourcePort: 80 }, bounds: { durationMs: 60_000 } }]);
  // The stand-in's capture has a 60 s duration on a real timer: it is still running at the next time.
  await clock.advance(t0 + 1_200_000);
  assert.equal(started.length, 1);
  assert.ok(lines.includes('WARN scheduled capture "every-10m": capture cap-1 from its last start is still running; skipped this start'), lines.join('\n'));
  await service.stop('cap-1');
  await clock.advance(t0 + 1_800_000);
  assert.equal(started.length, 2);
  // The pod entry cannot start without the Kubernetes API: logged with what to do, and tried again later.
  assert.ok(lines.some((l) => l.startsWith('WARN scheduled capture "pods" could not start: CAPTURE_INVALID_REQUEST: selecting pods with labels app=web needs the Kubernetes API') && l.endsWith('next try at 2026-11-29T02:30:00.000Z')), lines.join('\n'));
  await clock.advance(Date.parse('2026-11-29T03:30:00Z'));
  assert.deepEqual(started.at(-1), { name: 'at-0330', reason: 'schedule', selection: { destinationPort: 443 } });
  assert.ok(lines.includes('INFO scheduled capture "at-0330": first at 2026-11-29T03:30:00.000Z, then every 86400s'), lines.join('\n'));
  schedule.stop();
  const count = started.length;
  await clock.advance(t0 + 10 * 86_400_000);
  assert.equal(started.length, count, 'nothing starts after stop()');
  service.shutdown();
});
