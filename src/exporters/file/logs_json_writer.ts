// A direct OTLP/JSON writer for the shape every tcpscope event has (scalar attributes, no body,
// no span context): the same bytes as the generic transformer path, written into a byte buffer
// (src/telemetry/json_byte_writer.ts) without building the intermediate request objects, running
// a JSON replacer per key or building a string per record. At tens of thousands of events per
// second, that path was most of the agent's CPU.
// Records that offer writeOtlpJson() (src/telemetry/otlp_encodable.ts) write themselves.
// Anything outside that shape makes writeLogsRequest return false and the caller takes the
// generic path; a test checks both paths give identical output.
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { fragment, JsonByteWriter } from '../../telemetry/json_byte_writer';
import { isOtlpJsonLogRecord } from '../../telemetry/otlp_encodable';
import { writeAttributes, writeNanos } from '../../telemetry/otlp_json_fragments';

const F = {
  time: fragment('{"timeUnixNano":"'),
  observed: fragment('","observedTimeUnixNano":"'),
  severityNumber: fragment(',"severityNumber":'),
  severityText: fragment(',"severityText":'),
  emptyBody: fragment(',"body":{}'),
  stringBody: fragment(',"body":{"stringValue":'),
  eventName: fragment(',"eventName":'),
  attributes: fragment(',"attributes":['),
  dropped: fragment('],"droppedAttributesCount":'),
  requestStart: fragment('{"resourceLogs":['),
  resourceStart: fragment('{"resource":{"attributes":['),
  resourceEnd: fragment('],"droppedAttributesCount":0},"scopeLogs":['),
  scopeStart: fragment('{"scope":{"name":'),
  scopeVersion: fragment(',"version":'),
  scopeEnd: fragment('},"logRecords":['),
  close: fragment(']}'),
};
const QUOTE = 0x22;
const COMMA = 0x2c;
const CLOSE_BRACE = 0x7d;

function writeRecord(w: JsonByteWriter, r: ReadableLogRecord): boolean {
  // A record that encodes itself (src/telemetry/otlp_encodable.ts) never builds its attribute map.
  if (isOtlpJsonLogRecord(r)) {
    r.writeOtlpJson(w);
    return true;
  }
  if (r.spanContext || (r.body !== undefined && typeof r.body !== 'string')) return false;
  w.bytes(F.time);
  writeNanos(w, r.hrTime);
  w.bytes(F.observed);
  writeNanos(w, r.hrTimeObserved);
  w.byte(QUOTE);
  if (r.severityNumber !== undefined) {
    w.bytes(F.severityNumber);
    w.ascii(String(r.severityNumber));
  }
  if (r.severityText !== undefined) {
    w.bytes(F.severityText);
    w.string(r.severityText);
  }
  if (r.body === undefined) {
    w.bytes(F.emptyBody);
  } else {
    w.bytes(F.stringBody);
    w.string(r.body as string);
    w.byte(CLOSE_BRACE);
  }
  if (r.eventName !== undefined) {
    w.bytes(F.eventName);
    w.string(r.eventName);
  }
  w.bytes(F.attributes);
  if (!writeAttributes(w, r.attributes)) return false;
  w.bytes(F.dropped);
  w.ascii(String(r.droppedAttributesCount));
  w.byte(CLOSE_BRACE);
  return true;
}

type Resource = ReadableLogRecord['resource'];
type Scope = ReadableLogRecord['instrumentationScope'];

/** Records grouped by Resource, then by scope, in first-seen order (as the transformer groups them). */
function groups(records: readonly ReadableLogRecord[]): Map<Resource, Map<Scope, ReadableLogRecord[]>> {
  const resources = new Map<Resource, Map<Scope, ReadableLogRecord[]>>();
  for (const r of records) {
    let scopes = resources.get(r.resource);
    if (!scopes) resources.set(r.resource, (scopes = new Map()));
    let list = scopes.get(r.instrumentationScope);
    if (!list) scopes.set(r.instrumentationScope, (list = []));
    list.push(r);
  }
  return resources;
}

/** Whether every record has the first one's Resource and scope (a receiver's batch always does). */
function oneGroup(records: readonly ReadableLogRecord[]): boolean {
  const { resource, instrumentationScope } = records[0];
  for (let i = 1; i < records.length; i++) {
    if (records[i].resource !== resource || records[i].instrumentationScope !== instrumentationScope) return false;
  }
  return true;
}

function writeScopeStart(w: JsonByteWriter, scope: Scope): boolean {
  if (scope.schemaUrl || (scope.attributes && Object.keys(scope.attributes).length > 0)) return false;
  w.bytes(F.scopeStart);
  w.string(scope.name);
  if (scope.version !== undefined) {
    w.bytes(F.scopeVersion);
    w.string(scope.version);
  }
  w.bytes(F.scopeEnd);
  return true;
}

function writeResourceStart(w: JsonByteWriter, resource: Resource): boolean {
  if (resource.schemaUrl) return false;
  w.bytes(F.resourceStart);
  if (!writeAttributes(w, resource.attributes)) return false;
  w.bytes(F.resourceEnd);
  return true;
}

function writeRecords(w: JsonByteWriter, records: readonly ReadableLogRecord[]): boolean {
  for (let i = 0; i < records.length; i++) {
    if (i !== 0) w.byte(COMMA);
    if (!writeRecord(w, records[i])) return false;
  }
  return true;
}

function writeGroups(w: JsonByteWriter, records: readonly ReadableLogRecord[]): boolean {
  if (records.length === 0 || oneGroup(records)) {
    if (records.length > 0) {
      if (!writeResourceStart(w, records[0].resource) || !writeScopeStart(w, records[0].instrumentationScope)) return false;
      if (!writeRecords(w, records)) return false;
      w.bytes(F.close);
      w.bytes(F.close);
    }
    return true;
  }
  let firstResource = true;
  for (const [resource, scopes] of groups(records)) {
    if (!firstResource) w.byte(COMMA);
    firstResource = false;
    if (!writeResourceStart(w, resource)) return false;
    let firstScope = true;
    for (const [scope, list] of scopes) {
      if (!firstScope) w.byte(COMMA);
      firstScope = false;
      if (!writeScopeStart(w, scope) || !writeRecords(w, list)) return false;
      w.bytes(F.close);
    }
    w.bytes(F.close);
  }
  return true;
}

/**
 * Appends one ExportLogsServiceRequest (no newline) to `w`. False when a record needs the generic
 * path: then `w` is cut back to where it was.
 */
export function writeLogsRequest(w: JsonByteWriter, records: readonly ReadableLogRecord[]): boolean {
  const start = w.length;
  w.bytes(F.requestStart);
  if (!writeGroups(w, records)) {
    w.truncate(start);
    return false;
  }
  w.bytes(F.close);
  return true;
}

/** One ExportLogsServiceRequest line as text, or undefined when a record needs the generic path. */
export function writeLogsRequestJson(records: readonly ReadableLogRecord[]): string | undefined {
  const w = new JsonByteWriter();
  return writeLogsRequest(w, records) ? w.toString() : undefined;
}
