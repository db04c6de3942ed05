// Validates a parsed config against the registered factories. Throws one ConfigError: the first
// problem in document order (top-level keys in the order written, and within them the order
// written), then the checks that need the whole file (missing service, unused components).
// Reporting one precise error rather than a list keeps the message actionable; the user fixes
// it and runs `tcpscope validate` again.
import type { ComponentId, ComponentKind, Factory, SettingProblem, Signal } from '../component';
import { ConfigError } from '../errors';
import { parseHealthEndpoint } from '../health/endpoint';
import type { LogLevel } from '../logger';
import type { FactoryRegistry } from '../pipeline/registry';
import { validateComponentSettings } from './component_settings';
import { parseComponentId, parsePipelineId } from './ids';
import { describeValue, formatKeyPath, isPlainMap, type KeySegment } from './keypath';
import type { HostSettings, PipelineSpec, TelemetrySettings, ValidatedComponent, ValidatedConfig } from './types';
import { PACKET_CAPTURE_TYPE, validateCaptureSettings, type CaptureSettings } from '../receivers/packet_capture/control/config';

type SectionName = 'receivers' | 'processors' | 'exporters';
const SECTIONS: readonly SectionName[] = ['receivers', 'processors', 'exporters'];
const TOP_LEVEL_KEYS: readonly string[] = [...SECTIONS, 'service'];
const KIND_OF: { readonly [S in SectionName]: ComponentKind } = {
  receivers: 'receiver',
  processors: 'processor',
  exporters: 'exporter',
};
const PIPELINE_KEYS: readonly SectionName[] = SECTIONS;

const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];
const TELEMETRY_SCHEMA = {
  logs: {
    level: {
      doc: "the agent's own log level",
      format: LOG_LEVELS,
      default: 'info',
    },
  },
  resource: {
    doc: "attributes of the agent's Resource, overriding the defaults (e.g. a stable service.instance.id); null removes one",
    format: resourceAttributesFormat,
    default: {},
  },
  health: {
    endpoint: {
      doc: 'host:port of the health endpoint serving GET /healthz (liveness) and GET /readyz (readiness), e.g. "0.0.0.0:13133"; null (the default) serves none',
      format: healthEndpointFormat,
      default: null,
    },
  },
};

const HOST_SCHEMA = {
  cgroup_root: {
    doc: "the host's cgroup2 hierarchy as mounted into the agent (e.g. /host/sys/fs/cgroup in a container); empty: the cgroup2 mount in /proc/self/mountinfo that is the host's root cgroup. Start-up refuses a directory that is not the host's root cgroup (cgroup id 1)",
    format: absolutePathOrEmpty,
    default: '',
  },
};

function absolutePathOrEmpty(value: unknown): void {
  if (typeof value !== 'string' || (value !== '' && !value.startsWith('/'))) {
    throw new Error('must be an absolute path (or empty to find the host cgroup2 mount)');
  }
}

function healthEndpointFormat(value: unknown): void {
  if (value === null) return;
  if (typeof value !== 'string') throw new Error('must be a host:port string such as "0.0.0.0:13133", or null for no health endpoint');
  parseHealthEndpoint(value);
}

function resourceAttributesFormat(value: unknown): void {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new Error('must be a map of attribute name to string value (or null to remove the attribute)');
  }
  for (const [key, v] of Object.entries(value)) {
    if (key === '' || (typeof v !== 'string' && v !== null)) {
      throw new Error(`attribute ${JSON.stringify(key)} must have a string value or null (quote numbers in YAML)`);
    }
  }
}

/**
 * `service.telemetry`. Resource attribute names contain dots (`service.instance.id`), which
 * convict would read as nested keys, so `resource` is checked here and the rest by convict.
 */
function validateTelemetry(section: unknown): TelemetrySettings {
  const path = ['service', 'telemetry'];
  if (!isPlainMap(section) || !('resource' in section)) {
    return validateComponentSettings(TELEMETRY_SCHEMA, section, path) as TelemetrySettings;
  }
  const { resource, ...rest } = section;
  const attributes = resource ?? {};
  try {
    resourceAttributesFormat(attributes);
  } catch (error) {
    throw new ConfigError('service.telemetry.resource', (error as Error).message);
  }
  const settings = validateComponentSettings(TELEMETRY_SCHEMA, rest, path) as TelemetrySettings;
  return { ...settings, resource: { ...(attributes as Record<string, string | null>) } };
}

/** What the config defines, by raw id text; the factory is absent when the id or type is bad. */
type DefinedIds = { readonly [S in SectionName]: ReadonlyMap<string, Factory | undefined> };

export function validateConfig(raw: unknown, registry: FactoryRegistry): ValidatedConfig {
  const doc = raw ?? {};
  if (!isPlainMap(doc)) {
    throw new ConfigError('', `the config must be a map with ${TOP_LEVEL_KEYS.join(', ')}, got ${describeValue(doc)}`);
  }
  const defined = indexDefinedIds(doc, registry);
  const components: { [S in SectionName]: Map<string, ValidatedComponent> } = {
    receivers: new Map(),
    processors: new Map(),
    exporters: new Map(),
  };
  let service: ServiceSettings | undefined;

  for (const [key, value] of Object.entries(doc)) {
    if (isSectionName(key)) {
      validateSection(key, value, registry, components[key]);
    } else if (key === 'service') {
      service = validateService(value, defined);
    } else {
      throw new ConfigError(key, `unknown top-level key; expected one of: ${TOP_LEVEL_KEYS.join(', ')}`);
    }
  }
  if (!service) {
    throw new ConfigError('service', 'missing; define service.pipelines with at least one pipeline (metrics or logs)');
  }
  const used = new Set(service.pipelines.flatMap((p) => SECTIONS.flatMap((s) => p[s].map((id) => `${s}.${id}`))));
  for (const section of SECTIONS) {
    for (const id of components[section].keys()) {
      if (!used.has(`${section}.${id}`)) {
        throw new ConfigError(
          `${section}.${id}`,
          'defined but not used in any pipeline; add it to a pipeline under service.pipelines or remove it',
        );
      }
    }
  }
  return { ...components, pipelines: service.pipelines, telemetry: service.telemetry, host: service.host, capture: service.capture };
}

interface ServiceSettings {
  readonly pipelines: PipelineSpec[];
  readonly telemetry: TelemetrySettings;
  readonly host: HostSettings;
  readonly capture: CaptureSettings;
}

function isSectionName(key: string): key is SectionName {
  return (SECTIONS as readonly string[]).includes(key);
}

function indexDefinedIds(doc: Record<string, unknown>, registry: FactoryRegistry): DefinedIds {
  const index = (section: SectionName): Map<string, Factory | undefined> => {
    const entries = isPlainMap(doc[section]) ? Object.keys(doc[section]) : [];
    return new Map(
      entries.map((text) => {
        const id = parseComponentId(text);
        return [text, typeof id === 'string' ? undefined : registry.get(KIND_OF[section], id.type)];
      }),
    );
  };
  return { receivers: index('receivers'), processors: index('processors'), exporters: index('exporters') };
}

function validateSection(
  section: SectionName,
  value: unknown,
  registry: FactoryRegistry,
  out: Map<string, ValidatedComponent>,
): void {
  if (value === null || value === undefined) return;
  const kind = KIND_OF[section];
  if (!isPlainMap(value)) {
    throw new ConfigError(section, `must be a map of ${kind} ids to their settings, got ${describeValue(value)}`);
  }
  for (const [text, settings] of Object.entries(value)) {
    const path = `${section}.${text}`;
    const id = parseComponentId(text);
    if (typeof id === 'string') throw new ConfigError(path, id);
    const factory = registry.get(kind, id.type);
    if (!factory) throw new ConfigError(path, unknownType(kind, id, registry));
    const config = validateComponentSettings(factory.schema, settings, [section, text]);
    // The factory's own checks (across keys, against the host), so that `validate` refuses
    // everything `run` would; they see the settings with defaults applied, as create() will.
    const problem = factory.validate?.(config);
    if (problem) throw settingError([section, text], problem);
    out.set(text, { kind, id, config });
  }
}

function settingError(component: readonly KeySegment[], problem: SettingProblem): ConfigError {
  const inside = problem.key === '' ? [] : problem.key.split('.');
  return new ConfigError(formatKeyPath([...component, ...inside]), problem.message);
}

function unknownType(kind: ComponentKind, id: ComponentId, registry: FactoryRegistry): string {
  const known = registry.types(kind);
  const list = known.length > 0 ? `known ${kind} types: ${known.join(', ')}` : `no ${kind} types are registered`;
  return `unknown ${kind} type "${id.type}"; ${list}`;
}

function validateService(value: unknown, defined: DefinedIds): ServiceSettings {
  if (!isPlainMap(value)) {
    throw new ConfigError('service', `must be a map with pipelines, telemetry, host and capture, got ${describeValue(value)}`);
  }
  const captureReceivers = [...defined.receivers.keys()].filter((text) => {
    const id = parseComponentId(text);
    return typeof id !== 'string' && id.type === PACKET_CAPTURE_TYPE;
  });
  let capture = validateCaptureSettings(undefined, captureReceivers);
  let pipelines: PipelineSpec[] | undefined;
  let telemetry = validateComponentSettings(TELEMETRY_SCHEMA, {}, ['service', 'telemetry']) as TelemetrySettings;
  let host = validateComponentSettings(HOST_SCHEMA, {}, ['service', 'host']) as HostSettings;
  for (const [key, section] of Object.entries(value)) {
    if (key === 'pipelines') pipelines = validatePipelines(section, defined);
    else if (key === 'telemetry') telemetry = validateTelemetry(section);
    else if (key === 'host') host = validateComponentSettings(HOST_SCHEMA, section, ['service', 'host']) as HostSettings;
    else if (key === 'capture') capture = validateCaptureSettings(section, captureReceivers);
    else throw new ConfigError(`service.${key}`, 'unknown key; expected one of: pipelines, telemetry, host, capture');
  }
  if (!pipelines) {
    throw new ConfigError('service.pipelines', 'missing; define at least one pipeline (metrics or logs)');
  }
  return { pipelines, telemetry, host, capture };
}

function validatePipelines(value: unknown, defined: DefinedIds): PipelineSpec[] {
  if (!isPlainMap(value) || Object.keys(value).length === 0) {
    throw new ConfigError(
      'service.pipelines',
      `must be a map of pipeline ids (metrics, logs, metrics/<name>, logs/<name>) to pipelines, got ${describeValue(value)}`,
    );
  }
  return Object.entries(value).map(([text, body]) => validatePipeline(text, body, defined));
}

function validatePipeline(text: string, body: unknown, defined: DefinedIds): PipelineSpec {
  const base = `service.pipelines.${text}`;
  const id = parsePipelineId(text);
  if (typeof id === 'string') throw new ConfigError(base, id);
  if (!isPlainMap(body)) {
    throw new ConfigError(base, `must be a map with receivers, processors and exporters, got ${describeValue(body)}`);
  }
  const lists: { [S in SectionName]: string[] } = { receivers: [], processors: [], exporters: [] };
  for (const [key, entries] of Object.entries(body)) {
    if (!(PIPELINE_KEYS as readonly string[]).includes(key)) {
      throw new ConfigError(`${base}.${key}`, `unknown key; expected one of: ${PIPELINE_KEYS.join(', ')}`);
    }
    const section = key as SectionName;
    lists[section] = validateReferences(`${base}.${section}`, section, entries, id.signal, defined);
  }
  if (lists.receivers.length === 0) {
    throw new ConfigError(`${base}.receivers`, 'a pipeline needs at least one receiver');
  }
  if (lists.exporters.length === 0) {
    throw new ConfigError(`${base}.exporters`, 'a pipeline needs at least one exporter');
  }
  return { id, ...lists };
}

function validateReferences(
  path: string,
  section: SectionName,
  entries: unknown,
  signal: Signal,
  defined: DefinedIds,
): string[] {
  if (entries === null || entries === undefined) return [];
  if (!Array.isArray(entries)) {
    throw new ConfigError(path, `must be a list of ${KIND_OF[section]} ids, got ${describeValue(entries)}`);
  }
  const kind = KIND_OF[section];
  const seen = new Set<string>();
  return entries.map((entry: unknown, i) => {
    const at = formatKeyPath([path, i]);
    if (typeof entry !== 'string') throw new ConfigError(at, `must be a ${kind} id, got ${describeValue(entry)}`);
    if (seen.has(entry)) throw new ConfigError(at, `${kind} "${entry}" is listed twice in this pipeline`);
    seen.add(entry);
    const ids = defined[section];
    if (!ids.has(entry)) {
      const list = ids.size > 0 ? `defined ${section}: ${[...ids.keys()].join(', ')}` : `no ${section} are defined`;
      throw new ConfigError(at, `${kind} "${entry}" is not defined under ${section} (${list})`);
    }
    // An unknown type is reported where the component is defined; here only the signal matters.
    const factory = ids.get(entry);
    if (factory && !factory.signals.includes(signal)) {
      throw new ConfigError(
        at,
        `${kind} "${entry}" does not support ${signal} (${factory.type} supports: ${factory.signals.join(', ')})`,
      );
    }
    return entry;
  });
}
