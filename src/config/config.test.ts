// Table-driven config tests against small fake factories, so that they pin the validator's
// behaviour and messages independently of the real components.
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { ExporterFactory, Factory, ProcessorFactory, ReceiverFactory } from '../component';
import { ConfigError } from '../errors';
import { FactoryRegistry } from '../pipeline/registry';
import { loadConfigFile, parseConfigText, validateConfig, type Environment, type ValidatedConfig } from './index';
import { MAX_ALIAS_EXPANSIONS, MAX_CONFIG_BYTES } from './load';

const notCreated = (): never => {
  throw new Error('config tests never create components');
};

function portList(value: unknown): void {
  if (!Array.isArray(value) || !value.every((p) => Number.isInteger(p) && p >= 1 && p <= 65535)) {
    throw new Error('must be a list of ports 1-65535');
  }
}

interface LifecycleConfig {
  ring_buffer_size: number;
  enabled: boolean;
  sampling: { mode: string; rate: number };
  ports: number[];
  endpoint: string;
}

const lifecycle: ReceiverFactory<LifecycleConfig> = {
  kind: 'receiver',
  type: 'tcp_lifecycle',
  signals: ['metrics', 'logs'],
  schema: {
    ring_buffer_size: { doc: 'ring buffer size in bytes', format: 'nat', default: 262144 },
    enabled: { doc: 'attach the programs', format: Boolean, default: true },
    sampling: {
      mode: { doc: 'which events to keep', format: ['all', 'threshold'], default: 'all' },
      rate: { doc: 'fraction kept', format: Number, default: 1 },
    },
    ports: { doc: 'local ports to watch (empty: all)', format: portList, default: [] },
    endpoint: { doc: 'where to send', format: String, default: 'http://localhost:4318' },
  },
  // A check across keys that the schema cannot express, as a real factory's validate() does.
  validate: (config) =>
    config.sampling.mode === 'all' && config.sampling.rate !== 1
      ? { key: 'sampling.rate', message: `must be 1 when sampling.mode is "all", got ${config.sampling.rate}` }
      : undefined,
  create: notCreated,
};

const rtt: ReceiverFactory<{ interval_s: number }> = {
  kind: 'receiver',
  type: 'tcp_rtt',
  signals: ['metrics'],
  schema: { interval_s: { doc: 'collection interval in seconds', format: 'nat', default: 10 } },
  create: notCreated,
};

const sampling: ProcessorFactory<{ threshold_ms: number }> = {
  kind: 'processor',
  type: 'sampling',
  signals: ['logs'],
  schema: { threshold_ms: { doc: 'keep slower connections', format: 'nat', default: 0 } },
  create: notCreated,
};

const debugExporter: ExporterFactory<{ verbosity: string }> = {
  kind: 'exporter',
  type: 'debug',
  signals: ['metrics', 'logs'],
  schema: { verbosity: { doc: 'how much to print', format: ['basic', 'detailed'], default: 'basic' } },
  create: notCreated,
};

const logfile: ExporterFactory<Record<string, never>> = {
  kind: 'exporter',
  type: 'logfile',
  signals: ['logs'],
  schema: {},
  create: notCreated,
};

interface OtlpConfig {
  endpoint: string | null;
  headers: Record<string, string>;
  token: string;
}

const otlp: ExporterFactory<OtlpConfig> = {
  kind: 'exporter',
  type: 'otlp',
  signals: ['metrics', 'logs'],
  schema: {
    endpoint: { doc: 'host:port of the OTLP receiver', format: String, default: null },
    headers: { doc: 'extra request headers', format: Object, default: {} },
    token: { doc: 'bearer token', format: String, default: '', sensitive: true },
  },
  create: notCreated,
};

const FAKES: Factory[] = [lifecycle, rtt, sampling, debugExporter, logfile, otlp];
const registry = new FactoryRegistry(FAKES);

function validate(yaml: string, env: Environment = {}): ValidatedConfig {
  return validateConfig(parseConfigText(yaml, 'test.yaml', env), registry);
}

/** A valid tail appended to cases that break something above it. */
const PIPELINE = `
service:
  pipelines:
    logs:
      receivers: [tcp_lifecycle]
      exporters: [debug]
`;

const INVALID: { name: string; yaml: string; env?: Environment; message: string }[] = [
  {
    name: 'unknown top-level key',
    yaml: `extensions: {}\nreceivers: {tcp_lifecycle: }\nexporters: {debug: }${PIPELINE}`,
    message: 'extensions: unknown top-level key; expected one of: receivers, processors, exporters, service',
  },
  {
    name: 'unknown component type lists the known ones',
    yaml: `receivers: {tcp_lifecycel: }\nexporters: {debug: }${PIPELINE}`,
    message: 'receivers.tcp_lifecycel: unknown receiver type "tcp_lifecycel"; known receiver types: tcp_lifecycle, tcp_rtt',
  },
  {
    name: 'unknown key in a named component',
    yaml: `receivers:\n  tcp_lifecycle/x:\n    ring_bufer_size: 4096\nexporters: {debug: }${PIPELINE}`,
    message:
      'receivers.tcp_lifecycle/x.ring_bufer_size: unknown key; expected one of: ring_buffer_size, enabled, sampling, ports, endpoint',
  },
  {
    name: 'unknown key in a nested section',
    yaml: `receivers:\n  tcp_lifecycle:\n    sampling: {mode: all, ratio: 2}\nexporters: {debug: }${PIPELINE}`,
    message: 'receivers.tcp_lifecycle.sampling.ratio: unknown key; expected one of: mode, rate',
  },
  {
    name: 'a string where an integer belongs is not coerced',
    yaml: `receivers:\n  tcp_lifecycle:\n    ring_buffer_size: big\nexporters: {debug: }${PIPELINE}`,
    message:
      'receivers.tcp_lifecycle.ring_buffer_size: must be a non-negative integer, got "big" (ring buffer size in bytes; default 262144)',
  },
  {
    name: 'a negative integer fails convict\'s nat format',
    yaml: `receivers:\n  tcp_lifecycle:\n    ring_buffer_size: -1\nexporters: {debug: }${PIPELINE}`,
    message:
      'receivers.tcp_lifecycle.ring_buffer_size: must be a non-negative integer, got -1 (ring buffer size in bytes; default 262144)',
  },
  {
    name: 'YAML 1.2 "no" is a string, not false',
    yaml: `receivers:\n  tcp_lifecycle:\n    enabled: no\nexporters: {debug: }${PIPELINE}`,
    message: 'receivers.tcp_lifecycle.enabled: must be true or false, got "no" (attach the programs; default true)',
  },
  {
    name: 'a number where a string belongs',
    yaml: `receivers:\n  tcp_lifecycle:\n    endpoint: 4318\nexporters: {debug: }${PIPELINE}`,
    message: 'receivers.tcp_lifecycle.endpoint: must be a string, got 4318 (where to send; default "http://localhost:4318")',
  },
  {
    name: 'a value outside an enum',
    yaml: `receivers:\n  tcp_lifecycle:\n    sampling: {mode: some}\nexporters: {debug: }${PIPELINE}`,
    message:
      'receivers.tcp_lifecycle.sampling.mode: must be one of "all", "threshold", got "some" (which events to keep; default "all")',
  },
  {
    name: 'a custom format function',
    yaml: `receivers:\n  tcp_lifecycle:\n    ports: [80, 70000]\nexporters: {debug: }${PIPELINE}`,
    message:
      'receivers.tcp_lifecycle.ports: must be a list of ports 1-65535, got [80,70000] (local ports to watch (empty: all); default [])',
  },
  {
    name: 'a single value where a section belongs',
    yaml: `receivers:\n  tcp_lifecycle:\n    sampling: 5\nexporters: {debug: }${PIPELINE}`,
    message: 'receivers.tcp_lifecycle.sampling: must be a map with keys mode, rate, got 5',
  },
  {
    name: 'a map where a single value belongs',
    yaml: `receivers:\n  tcp_lifecycle:\n    ring_buffer_size: {size: 1}\nexporters: {debug: }${PIPELINE}`,
    message:
      'receivers.tcp_lifecycle.ring_buffer_size: must be a non-negative integer, got {"size":1} (ring buffer size in bytes; default 262144)',
  },
  {
    name: 'a map for a setting with a format function',
    yaml: `receivers:\n  tcp_lifecycle:\n    ports: {http: 80}\nexporters: {debug: }${PIPELINE}`,
    message: 'receivers.tcp_lifecycle.ports: must not be a map, got {"http":80} (local ports to watch (empty: all); default [])',
  },
  {
    name: 'the first error in document order, not schema order',
    yaml: `receivers:\n  tcp_lifecycle:\n    enabled: 3\n    ring_buffer_size: 1.5\nexporters: {debug: }${PIPELINE}`,
    message: 'receivers.tcp_lifecycle.enabled: must be true or false, got 3 (attach the programs; default true)',
  },
  {
    name: 'a required setting left out',
    yaml: `receivers: {tcp_lifecycle: }\nexporters: {otlp: {headers: {x-team: sre}}}\nservice:\n  pipelines:\n    logs: {receivers: [tcp_lifecycle], exporters: [otlp]}\n`,
    message: 'exporters.otlp.endpoint: is required: must be a string (host:port of the OTLP receiver)',
  },
  {
    name: 'a sensitive value is never echoed',
    yaml: `receivers: {tcp_lifecycle: }\nexporters: {otlp: {endpoint: 'c:4317', token: 123456}}\nservice:\n  pipelines:\n    logs: {receivers: [tcp_lifecycle], exporters: [otlp]}\n`,
    message: 'exporters.otlp.token: must be a string, got a value not shown because the setting is sensitive (bearer token)',
  },
  {
    name: 'a string where a map setting belongs',
    yaml: `receivers: {tcp_lifecycle: }\nexporters: {otlp: {endpoint: 'c:4317', headers: 'x-team=sre'}}\nservice:\n  pipelines:\n    logs: {receivers: [tcp_lifecycle], exporters: [otlp]}\n`,
    message: 'exporters.otlp.headers: must be a map, got "x-team=sre" (extra request headers; default {})',
  },
  {
    name: 'component settings that are not a map',
    yaml: `receivers: {tcp_lifecycle: [1]}\nexporters: {debug: }${PIPELINE}`,
    message: 'receivers.tcp_lifecycle: must be a map of settings (or empty for the defaults), got [1]',
  },
  {
    name: 'malformed component id',
    yaml: `receivers: {tcp_lifecycle/: }\nexporters: {debug: }${PIPELINE}`,
    message:
      'receivers.tcp_lifecycle/: invalid component id "tcp_lifecycle/": the name after "/" must be non-empty and use only letters, digits, "_", "." or "-"',
  },
  {
    name: 'pipeline references an undefined component',
    yaml: `receivers: {tcp_lifecycle: }\nexporters: {debug: }\nservice:\n  pipelines:\n    logs:\n      receivers: [tcp_lifecycle]\n      exporters: [debug, otlp]\n`,
    message: 'service.pipelines.logs.exporters[1]: exporter "otlp" is not defined under exporters (defined exporters: debug)',
  },
  {
    name: 'pipeline references a processor when none are defined',
    yaml: `receivers: {tcp_lifecycle: }\nexporters: {debug: }\nservice:\n  pipelines:\n    logs:\n      receivers: [tcp_lifecycle]\n      processors: [sampling]\n      exporters: [debug]\n`,
    message: 'service.pipelines.logs.processors[0]: processor "sampling" is not defined under processors (no processors are defined)',
  },
  {
    name: 'component defined but used in no pipeline',
    yaml: `receivers: {tcp_lifecycle: , tcp_rtt: }\nexporters: {debug: }${PIPELINE}`,
    message: 'receivers.tcp_rtt: defined but not used in any pipeline; add it to a pipeline under service.pipelines or remove it',
  },
  {
    name: 'component in a pipeline of a signal it does not support',
    yaml: `receivers: {tcp_lifecycle: }\nexporters: {logfile: }\nservice:\n  pipelines:\n    metrics:\n      receivers: [tcp_lifecycle]\n      exporters: [logfile]\n`,
    message: 'service.pipelines.metrics.exporters[0]: exporter "logfile" does not support metrics (logfile supports: logs)',
  },
  {
    name: 'pipeline without receivers',
    yaml: `exporters: {debug: }\nservice:\n  pipelines:\n    logs/audit:\n      exporters: [debug]\n`,
    message: 'service.pipelines.logs/audit.receivers: a pipeline needs at least one receiver',
  },
  {
    name: 'pipeline without exporters',
    yaml: `receivers: {tcp_lifecycle: }\nservice:\n  pipelines:\n    logs:\n      receivers: [tcp_lifecycle]\n      exporters: []\n`,
    message: 'service.pipelines.logs.exporters: a pipeline needs at least one exporter',
  },
  {
    name: 'pipeline of an unknown signal',
    yaml: `receivers: {tcp_lifecycle: }\nexporters: {debug: }\nservice:\n  pipelines:\n    traces:\n      receivers: [tcp_lifecycle]\n      exporters: [debug]\n`,
    message: 'service.pipelines.traces: unknown pipeline type "traces"; expected metrics or logs, optionally followed by /<name>',
  },
  {
    name: 'unknown key in a pipeline',
    yaml: `receivers: {tcp_lifecycle: }\nexporters: {debug: }\nservice:\n  pipelines:\n    logs:\n      receivers: [tcp_lifecycle]\n      exporter: [debug]\n`,
    message: 'service.pipelines.logs.exporter: unknown key; expected one of: receivers, processors, exporters',
  },
  {
    name: 'the same component twice in one pipeline',
    yaml: `receivers: {tcp_lifecycle: }\nexporters: {debug: }\nservice:\n  pipelines:\n    logs:\n      receivers: [tcp_lifecycle, tcp_lifecycle]\n      exporters: [debug]\n`,
    message: 'service.pipelines.logs.receivers[1]: receiver "tcp_lifecycle" is listed twice in this pipeline',
  },
  {
    name: 'a service section written before a bad component is checked first',
    yaml: `service:\n  pipelines:\n    logs:\n      receivers: [tcp_lifecycle]\n      exporters: [nope]\nreceivers: {tcp_lifecycle: {bogus: 1}}\nexporters: {debug: }\n`,
    message: 'service.pipelines.logs.exporters[0]: exporter "nope" is not defined under exporters (defined exporters: debug)',
  },
  {
    name: 'no service section',
    yaml: `receivers: {tcp_lifecycle: }\nexporters: {debug: }\n`,
    message: 'service: missing; define service.pipelines with at least one pipeline (metrics or logs)',
  },
  {
    name: 'empty pipelines',
    yaml: `service:\n  pipelines: {}\n`,
    message:
      'service.pipelines: must be a map of pipeline ids (metrics, logs, metrics/<name>, logs/<name>) to pipelines, got {}',
  },
  {
    name: 'invalid log level',
    yaml: `receivers: {tcp_lifecycle: }\nexporters: {debug: }${PIPELINE}  telemetry:\n    logs:\n      level: verbose\n`,
    message:
      'service.telemetry.logs.level: must be one of "debug", "info", "warn", "error", got "verbose" (the agent\'s own log level; default "info")',
  },
  {
    name: 'relative service.host.cgroup_root',
    yaml: `receivers: {tcp_lifecycle: }\nexporters: {debug: }${PIPELINE}  host:\n    cgroup_root: host/sys/fs/cgroup\n`,
    message:
      'service.host.cgroup_root: must be an absolute path (or empty to find the host cgroup2 mount), got "host/sys/fs/cgroup" (the host\'s cgroup2 hierarchy as mounted into the agent (e.g. /host/sys/fs/cgroup in a container); empty: the cgroup2 mount in /proc/self/mountinfo that is the host\'s root cgroup. Start-up refuses a directory that is not the host\'s root cgroup (cgroup id 1); default "")',
  },
  {
    name: 'unknown key under service.host',
    yaml: `receivers: {tcp_lifecycle: }\nexporters: {debug: }${PIPELINE}  host:\n    cgroup: /x\n`,
    message: 'service.host.cgroup: unknown key; expected one of: cgroup_root',
  },
  {
    name: 'health endpoint without a port',
    yaml: `receivers: {tcp_lifecycle: }\nexporters: {debug: }${PIPELINE}  telemetry:\n    health: {endpoint: "0.0.0.0"}\n`,
    message:
      'service.telemetry.health.endpoint: must be host:port (e.g. "0.0.0.0:13133", "127.0.0.1:0" or "[::]:13133"), got "0.0.0.0" (host:port of the health endpoint serving GET /healthz (liveness) and GET /readyz (readiness), e.g. "0.0.0.0:13133"; null (the default) serves none)',
  },
  {
    name: 'health endpoint port out of range',
    yaml: `receivers: {tcp_lifecycle: }\nexporters: {debug: }${PIPELINE}  telemetry:\n    health: {endpoint: "0.0.0.0:70000"}\n`,
    message:
      'service.telemetry.health.endpoint: must be host:port with a port in 0..65535, got "0.0.0.0:70000" (host:port of the health endpoint serving GET /healthz (liveness) and GET /readyz (readiness), e.g. "0.0.0.0:13133"; null (the default) serves none)',
  },
  {
    name: 'unknown key under service.telemetry.health',
    yaml: `receivers: {tcp_lifecycle: }\nexporters: {debug: }${PIPELINE}  telemetry:\n    health: {endpoint: "0.0.0.0:13133", path: /health}\n`,
    message: 'service.telemetry.health.path: unknown key; expected one of: endpoint',
  },
  {
    name: 'unset environment variable without default names the key',
    yaml: `receivers:\n  tcp_lifecycle:\n    endpoint: http://\${env:OTLP_HOST}:4318\nexporters: {debug: }${PIPELINE}`,
    message:
      'receivers.tcp_lifecycle.endpoint: environment variable OTLP_HOST is not set; set it or give a default with ${env:OTLP_HOST:-default}',
  },
  {
    name: 'malformed environment reference',
    yaml: `receivers:\n  tcp_lifecycle:\n    endpoint: \${env:1BAD}\nexporters: {debug: }${PIPELINE}`,
    message:
      'receivers.tcp_lifecycle.endpoint: malformed reference ${env:1BAD}; expected ${env:NAME} or ${env:NAME:-default}',
  },
  {
    name: 'an environment value is checked like a written one',
    yaml: `receivers:\n  tcp_lifecycle:\n    ring_buffer_size: \${env:RB}\nexporters: {debug: }${PIPELINE}`,
    env: { RB: '64k' },
    message:
      'receivers.tcp_lifecycle.ring_buffer_size: must be a non-negative integer, got "64k" (ring buffer size in bytes; default 262144)',
  },
  {
    name: 'YAML syntax error names file, line and column',
    yaml: `receivers:\n  tcp_lifecycle: {\nexporters: {debug: }\n`,
    message:
      'test.yaml:3:1: YAML syntax error: Flow map in block collection must be sufficiently indented and end with a }, at "exporters: {debug: }"',
  },
  {
    name: 'a key written twice',
    yaml: `receivers: {tcp_lifecycle: }\nreceivers: {tcp_rtt: }\n`,
    message:
      'test.yaml:2:1: YAML syntax error: key "receivers" is written twice in one map (first on line 1); keep one, at "receivers: {tcp_rtt: }"',
  },
  {
    name: 'a key written twice in a nested flow map',
    yaml: `receivers:\n  tcp_lifecycle: {enabled: true,\n    enabled: false}\nexporters: {debug: }${PIPELINE}`,
    message:
      'test.yaml:3:5: YAML syntax error: key "enabled" is written twice in one map (first on line 2); keep one, at "    enabled: false}"',
  },
  {
    name: 'a syntax error at the end of the file says so',
    yaml: `receivers:\n  tcp_lifecycle: {endpoint: "http://x\n`,
    message: 'test.yaml:3:1: YAML syntax error: Missing closing "quote, at the end of the file',
  },
  {
    name: 'a map as a key',
    yaml: `receivers:\n  ? {tcp_lifecycle: 1}\n  : {}\n`,
    message: 'test.yaml:2:5: YAML syntax error: a map key must be a plain value, not a map or a list, at "  ? {tcp_lifecycle: 1}"',
  },
  {
    name: 'a second YAML document',
    yaml: `receivers: {tcp_lifecycle: }\nexporters: {debug: }${PIPELINE}---\nreceivers: {}\n`,
    message:
      'test.yaml:8:1: YAML syntax error: a config file holds one YAML document; remove the "---" or "..." line that starts another one, at "---"',
  },
  {
    name: 'a top-level __proto__ key',
    yaml: `__proto__: {receivers: {tcp_rtt: }}\nreceivers: {tcp_lifecycle: }\nexporters: {debug: }${PIPELINE}`,
    message: '__proto__: "__proto__" is not allowed as a key (test.yaml:1:1); no setting has this name',
  },
  {
    name: '__proto__ in component settings',
    yaml: `receivers:\n  tcp_lifecycle:\n    __proto__: {enabled: false}\nexporters: {debug: }${PIPELINE}`,
    message: 'receivers.tcp_lifecycle.__proto__: "__proto__" is not allowed as a key (test.yaml:3:5); no setting has this name',
  },
  {
    name: '__proto__ inside a list item',
    yaml: `receivers:\n  tcp_lifecycle:\n    ports: [{__proto__: 80}]\nexporters: {debug: }${PIPELINE}`,
    message: 'receivers.tcp_lifecycle.ports[0].__proto__: "__proto__" is not allowed as a key (test.yaml:3:14); no setting has this name',
  },
  {
    name: 'NaN is shown as NaN, not null',
    yaml: `receivers:\n  tcp_lifecycle:\n    sampling: {mode: threshold, rate: .nan}\nexporters: {debug: }${PIPELINE}`,
    message: 'receivers.tcp_lifecycle.sampling.rate: must be a finite number, got NaN (fraction kept; default 1)',
  },
  {
    name: 'a number too large for a double is shown as Infinity, not null',
    yaml: `receivers:\n  tcp_lifecycle:\n    ring_buffer_size: 1e400\nexporters: {debug: }${PIPELINE}`,
    message:
      'receivers.tcp_lifecycle.ring_buffer_size: must be a non-negative integer, got Infinity (ring buffer size in bytes; default 262144)',
  },
  {
    name: "the factory's validate() runs after the schema and names the key path",
    yaml: `receivers:\n  tcp_lifecycle/x:\n    sampling: {rate: 0.5}\nexporters: {debug: }\nservice:\n  pipelines:\n    logs: {receivers: [tcp_lifecycle/x], exporters: [debug]}\n`,
    message: 'receivers.tcp_lifecycle/x.sampling.rate: must be 1 when sampling.mode is "all", got 0.5',
  },
  {
    name: 'a top level that is not a map',
    yaml: `- receivers\n`,
    message: 'test.yaml: the top level must be a map with receivers, processors, exporters and service',
  },
];

describe('invalid configs', () => {
  for (const { name, yaml, env, message } of INVALID) {
    it(name, () => {
      assert.throws(
        () => validate(yaml, env),
        (error: unknown) => {
          assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
          assert.equal(error.code, 'CONFIG_INVALID');
          assert.equal(error.message, message);
          return true;
        },
      );
    });
  }
});

describe('valid configs', () => {
  it('applies defaults to empty and partial component settings', () => {
    const config = validate(`
receivers:
  tcp_lifecycle:
    sampling: {mode: threshold}
  tcp_rtt:
processors:
  sampling:
exporters:
  debug:
service:
  pipelines:
    logs:
      receivers: [tcp_lifecycle]
      processors: [sampling]
      exporters: [debug]
    metrics:
      receivers: [tcp_lifecycle, tcp_rtt]
      exporters: [debug]
`);
    assert.deepEqual(config.receivers.get('tcp_lifecycle')?.config, {
      ring_buffer_size: 262144,
      enabled: true,
      sampling: { mode: 'threshold', rate: 1 },
      ports: [],
      endpoint: 'http://localhost:4318',
    });
    assert.deepEqual(config.receivers.get('tcp_rtt')?.config, { interval_s: 10 });
    assert.deepEqual(config.processors.get('sampling')?.config, { threshold_ms: 0 });
    assert.deepEqual(config.exporters.get('debug')?.config, { verbosity: 'basic' });
    assert.equal(config.telemetry.logs.level, 'info');
    assert.deepEqual(config.host, { cgroup_root: '' });
    assert.deepEqual(
      config.pipelines.map((p) => [p.id.text, p.id.signal, p.receivers, p.processors, p.exporters]),
      [
        ['logs', 'logs', ['tcp_lifecycle'], ['sampling'], ['debug']],
        ['metrics', 'metrics', ['tcp_lifecycle', 'tcp_rtt'], [], ['debug']],
      ],
    );
  });

  it('takes a map-valued setting as a whole', () => {
    const config = validate(`
receivers: {tcp_lifecycle: }
exporters:
  otlp:
    endpoint: collector:4317
    headers: {x-team: sre, x-env: prod}
service:
  pipelines:
    metrics: {receivers: [tcp_lifecycle], exporters: [otlp]}
`);
    assert.deepEqual(config.exporters.get('otlp')?.config, {
      endpoint: 'collector:4317',
      headers: { 'x-team': 'sre', 'x-env': 'prod' },
      token: '',
    });
  });

  it('keeps named ids apart and in document order', () => {
    const config = validate(`
receivers:
  tcp_lifecycle:
exporters:
  debug/verbose: {verbosity: detailed}
  debug:
service:
  telemetry: {logs: {level: debug}}
  pipelines:
    logs/audit:
      receivers: [tcp_lifecycle]
      exporters: [debug/verbose, debug]
`);
    assert.deepEqual([...config.exporters.keys()], ['debug/verbose', 'debug']);
    const verbose = config.exporters.get('debug/verbose');
    assert.deepEqual(verbose?.id, { type: 'debug', name: 'verbose', text: 'debug/verbose' });
    assert.equal(verbose?.kind, 'exporter');
    assert.deepEqual(verbose?.config, { verbosity: 'detailed' });
    assert.deepEqual(config.exporters.get('debug')?.config, { verbosity: 'basic' });
    assert.deepEqual(config.pipelines[0].id, { signal: 'logs', name: 'audit', text: 'logs/audit' });
    assert.equal(config.telemetry.logs.level, 'debug');
    assert.deepEqual(config.telemetry.health, { endpoint: null }, 'no health endpoint unless configured');
  });

  it('takes service.telemetry.health.endpoint', () => {
    const config = validate(`
receivers: {tcp_lifecycle: }
exporters: {debug: }
service:
  telemetry: {health: {endpoint: "[::]:13133"}}
  pipelines:
    metrics: {receivers: [tcp_lifecycle], exporters: [debug]}
`);
    assert.deepEqual(config.telemetry.health, { endpoint: '[::]:13133' });
  });

  it('substitutes environment variables, typed when a whole value', () => {
    const config = validate(
      `
receivers:
  tcp_lifecycle:
    ring_buffer_size: \${env:RB}
    enabled: \${env:ENABLED}
    endpoint: http://\${env:OTLP_HOST:-localhost}:\${env:OTLP_PORT:-4318}/\$\${env:LITERAL}
    sampling:
      mode: \${env:MODE:-threshold}
exporters: {debug: }
${PIPELINE}`,
      { RB: '4096', ENABLED: 'false', OTLP_PORT: '', MODE: '' },
    );
    assert.deepEqual(config.receivers.get('tcp_lifecycle')?.config, {
      ring_buffer_size: 4096,
      enabled: false,
      sampling: { mode: 'threshold', rate: 1 },
      ports: [],
      endpoint: 'http://localhost:4318/${env:LITERAL}',
    });
  });

  it('an empty file is a config without pipelines', () => {
    assert.throws(() => validate(''), { message: 'service: missing; define service.pipelines with at least one pipeline (metrics or logs)' });
  });
});

describe('loadConfigFile', () => {
  it('reads a file and substitutes from the given environment', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tcpscope-config-'));
    try {
      const file = join(dir, 'agent.yaml');
      writeFileSync(file, `receivers:\n  tcp_rtt:\n    interval_s: \${env:INTERVAL}\n`);
      assert.deepEqual(loadConfigFile(file, { INTERVAL: '5' }), { receivers: { tcp_rtt: { interval_s: 5 } } });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a directory is a ConfigError saying so', () => {
    assert.throws(() => loadConfigFile(tmpdir(), {}), {
      name: 'ConfigError',
      message: `cannot read config file ${tmpdir()}: it is a directory, not a file`,
    });
  });

  it('a missing file is a ConfigError naming the file', () => {
    assert.throws(() => loadConfigFile('/nonexistent/tcpscope.yaml', {}), {
      name: 'ConfigError',
      message: 'cannot read config file /nonexistent/tcpscope.yaml: no such file',
    });
  });
});

describe('hostile and huge YAML', () => {
  it('refuses a "billion laughs" alias bomb with a config error', () => {
    // Nine levels of nine aliases: 9^9 = 387 million strings if expanded.
    const lines = ['a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]'];
    for (let i = 1; i <= 9; i++) lines.push(`a${i}: &a${i} [${Array(9).fill(`*a${i - 1}`).join(', ')}]`);
    assert.throws(() => parseConfigText(lines.join('\n'), 'bomb.yaml', {}), {
      name: 'ConfigError',
      message: `bomb.yaml: YAML aliases (*name) expand the document too much: an anchor may be used at most ${MAX_ALIAS_EXPANSIONS} times over; write the values out or use fewer aliases`,
    });
  });

  it('still takes a few aliases', () => {
    const tree = parseConfigText('x: &p [1, 2]\ny: *p\nz: *p\n', 'ok.yaml', {});
    assert.deepEqual(tree, { x: [1, 2], y: [1, 2], z: [1, 2] });
  });

  // Generated: 100k keys (1.7 MB). The duplicate-key check was quadratic (20k keys took 4.4 s,
  // 600k never finished); now the whole load is linear. Bounded by the test timeout only.
  const HUGE = 100_000;
  const hugeHeaders = (extra = '') =>
    `receivers: {tcp_lifecycle: }\nexporters:\n  otlp:\n    endpoint: c:4317\n    headers:\n${Array.from({ length: HUGE }, (_, i) => `      x-h${i}: v${i}\n`).join('')}${extra}service:\n  pipelines:\n    logs: {receivers: [tcp_lifecycle], exporters: [otlp]}\n`;

  it('validates a map of 100k keys', { timeout: 60_000 }, () => {
    const config = validate(hugeHeaders());
    const headers = (config.exporters.get('otlp')?.config as OtlpConfig).headers;
    assert.equal(Object.keys(headers).length, HUGE);
    assert.equal(headers[`x-h${HUGE - 1}`], `v${HUGE - 1}`);
  });

  it('finds a key repeated at the end of a map of 100k keys', { timeout: 60_000 }, () => {
    assert.throws(() => validate(hugeHeaders('      x-h7: again\n')), {
      message: `test.yaml:${HUGE + 6}:7: YAML syntax error: key "x-h7" is written twice in one map (first on line 13); keep one, at "      x-h7: again"`,
    });
  });

  it(`refuses a config larger than ${MAX_CONFIG_BYTES} bytes`, () => {
    assert.throws(() => parseConfigText(`# ${'x'.repeat(MAX_CONFIG_BYTES)}\n`, 'huge.yaml', {}), {
      name: 'ConfigError',
      message: `huge.yaml: the config is larger than ${MAX_CONFIG_BYTES} bytes, the most tcpscope reads`,
    });
  });

  it('reads at most the bound from an endless file', () => {
    assert.throws(() => loadConfigFile('/dev/zero', {}), {
      name: 'ConfigError',
      message: `/dev/zero: the config file is larger than ${MAX_CONFIG_BYTES} bytes (4 MiB), the most tcpscope reads; is it the right file?`,
    });
  });

  it('absurd nesting is a config error, not a crash', () => {
    assert.throws(() => parseConfigText(`a: ${'['.repeat(100_000)}${']'.repeat(100_000)}\n`, 'deep.yaml', {}), {
      name: 'ConfigError',
      message: /^deep\.yaml:1:\d+: YAML syntax error: Maximum call stack size exceeded, at "a: \[\[\[/,
    });
  });
});

describe('FactoryRegistry', () => {
  it('refuses a type registered twice', () => {
    assert.throws(() => new FactoryRegistry([rtt, rtt]), { message: 'receiver factory "tcp_rtt" is registered twice' });
  });

  it('refuses a schema convict cannot use', () => {
    const broken: ReceiverFactory = { ...rtt, type: 'broken', schema: { x: { default: 1, format: 'no_such_format' } } };
    assert.throws(() => new FactoryRegistry([broken]), /receiver factory "broken": invalid convict schema: 'x' uses an unknown format type: no_such_format/);
  });

  it('lists types per kind, sorted', () => {
    assert.deepEqual(registry.types('receiver'), ['tcp_lifecycle', 'tcp_rtt']);
    assert.deepEqual(registry.types('exporter'), ['debug', 'logfile', 'otlp']);
    assert.equal(registry.get('processor', 'debug'), undefined);
  });
});
