// A direct OTLP/JSON writer for the shape every tcpscope event has (scalar attributes, no body,
// no span context): the same bytes as the generic transformer path, written as one string per
// request without building the intermediate request objects or running a JSON replacer per key.
// At tens of thousands of events per second, that path was most of the agent's CPU.
// Anything outside that shape returns undefined and the caller takes the generic path; a test
// checks both paths give identical output.
import type { HrTime } from '@opentelemetry/api';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';

function nanos(time: HrTime): string {
  const [seconds, ns] = time;
  return seconds === 0 ? String(ns) : `${seconds}${String(ns).padStart(9, '0')}`;
}

// Attribute keys repeat in every record: their JSON prefix is built once.
const keyPrefixes = new Map<string, string>();
function keyPrefix(key: string): string {
  let prefix = keyPrefixes.get(key);
  if (prefix === undefined) {
    prefix = `{"key":${JSON.stringify(key)},"value":`;
    if (keyPrefixes.size < 4096) keyPrefixes.set(key, prefix);
  }
  return prefix;
}

// Strings that need no escaping (addresses, names, paths) skip JSON.stringify.
const PLAIN = /^[\x20-\x21\x23-\x5b\x5d-\x7e]*$/;

/** `{"key":…,"value":{…}}` pairs, or undefined when a value is not a string, number or boolean. */
function attributesJson(attributes: Readonly<Record<string, unknown>>): string | undefined {
  let out = '';
  let first = true;
  for (const key in attributes) {
    const value = attributes[key];
    let encoded: string;
    switch (typeof value) {
      case 'string':
        encoded = PLAIN.test(value) ? `{"stringValue":"${value}"}` : `{"stringValue":${JSON.stringify(value)}}`;
        break;
      case 'number':
        if (Number.isInteger(value)) encoded = `{"intValue":"${value}"}`;
        else if (Number.isFinite(value)) encoded = `{"doubleValue":${value}}`;
        else encoded = `{"doubleValue":"${Number.isNaN(value) ? 'NaN' : value > 0 ? 'Infinity' : '-Infinity'}"}`;
        break;
      case 'boolean':
        encoded = `{"boolValue":${value}}`;
        break;
      default:
        return undefined;
    }
    out += (first ? '' : ',') + keyPrefix(key) + encoded + '}';
    first = false;
  }
  return out;
}

function recordJson(r: ReadableLogRecord): string | undefined {
  if (r.spanContext || (r.body !== undefined && typeof r.body !== 'string')) return undefined;
  const attributes = attributesJson(r.attributes);
  if (attributes === undefined) return undefined;
  let out = `{"timeUnixNano":"${nanos(r.hrTime)}","observedTimeUnixNano":"${nanos(r.hrTimeObserved)}"`;
  if (r.severityNumber !== undefined) out += `,"severityNumber":${r.severityNumber}`;
  if (r.severityText !== undefined) out += `,"severityText":${JSON.stringify(r.severityText)}`;
  out += r.body === undefined ? ',"body":{}' : `,"body":{"stringValue":${JSON.stringify(r.body)}}`;
  if (r.eventName !== undefined) out += `,"eventName":${JSON.stringify(r.eventName)}`;
  return `${out},"attributes":[${attributes}],"droppedAttributesCount":${r.droppedAttributesCount}}`;
}

/** One ExportLogsServiceRequest line, or undefined when a record needs the generic path. */
export function writeLogsRequestJson(records: readonly ReadableLogRecord[]): string | undefined {
  // Group by Resource, then by scope, keeping first-seen order as the transformer does.
  const resources = new Map<ReadableLogRecord['resource'], Map<ReadableLogRecord['instrumentationScope'], string[]>>();
  for (const r of records) {
    const json = recordJson(r);
    if (json === undefined) return undefined;
    let scopes = resources.get(r.resource);
    if (!scopes) resources.set(r.resource, (scopes = new Map()));
    let lines = scopes.get(r.instrumentationScope);
    if (!lines) scopes.set(r.instrumentationScope, (lines = []));
    lines.push(json);
  }
  const resourceLogs: string[] = [];
  for (const [resource, scopes] of resources) {
    const resourceAttributes = attributesJson(resource.attributes);
    if (resourceAttributes === undefined || resource.schemaUrl) return undefined;
    const scopeLogs: string[] = [];
    for (const [scope, lines] of scopes) {
      if (scope.schemaUrl || (scope.attributes && Object.keys(scope.attributes).length > 0)) return undefined;
      const version = scope.version === undefined ? '' : `,"version":${JSON.stringify(scope.version)}`;
      scopeLogs.push(`{"scope":{"name":${JSON.stringify(scope.name)}${version}},"logRecords":[${lines.join(',')}]}`);
    }
    resourceLogs.push(`{"resource":{"attributes":[${resourceAttributes}],"droppedAttributesCount":0},"scopeLogs":[${scopeLogs.join(',')}]}`);
  }
  return `{"resourceLogs":[${resourceLogs.join(',')}]}`;
}
