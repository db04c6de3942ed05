// A direct OTLP/JSON writer for the shape every tcpscope event has (scalar attributes, no body,
// no span context): the same bytes as the generic transformer path, written as one string per
// request without building the intermediate request objects or running a JSON replacer per key.
// At tens of thousands of events per second, that path was most of the agent's CPU.
// Records that offer otlpJson() (src/telemetry/otlp_encodable.ts) write themselves.
// Anything outside that shape returns undefined and the caller takes the generic path; a test
// checks both paths give identical output.
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { isOtlpJsonLogRecord } from '../../telemetry/otlp_encodable';
import { attributesJson, nanosText as nanos } from '../../telemetry/otlp_json_fragments';

function recordJson(r: ReadableLogRecord): string | undefined {
  // A record that encodes itself (src/telemetry/otlp_encodable.ts) never builds its attribute map.
  if (isOtlpJsonLogRecord(r)) return r.otlpJson('');
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
  return writeLogsRequestJsonPieces(records)?.join('');
}

/**
 * The same line as pieces to write one after the other (a record's JSON is one piece): at full
 * churn a request line is hundreds of kilobytes, and as one string it would be allocated among V8's
 * large objects, which only a full garbage collection frees; pieces die young.
 */
export function writeLogsRequestJsonPieces(records: readonly ReadableLogRecord[]): string[] | undefined {
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
  const pieces: string[] = ['{"resourceLogs":['];
  let firstResource = true;
  for (const [resource, scopes] of resources) {
    const resourceAttributes = attributesJson(resource.attributes);
    if (resourceAttributes === undefined || resource.schemaUrl) return undefined;
    pieces.push(`${firstResource ? '' : ','}{"resource":{"attributes":[${resourceAttributes}],"droppedAttributesCount":0},"scopeLogs":[`);
    firstResource = false;
    let firstScope = true;
    for (const [scope, lines] of scopes) {
      if (scope.schemaUrl || (scope.attributes && Object.keys(scope.attributes).length > 0)) return undefined;
      const version = scope.version === undefined ? '' : `,"version":${JSON.stringify(scope.version)}`;
      pieces.push(`${firstScope ? '' : ','}{"scope":{"name":${JSON.stringify(scope.name)}${version}},"logRecords":[`);
      firstScope = false;
      for (let i = 0; i < lines.length; i++) pieces.push(i === 0 ? lines[i] : `,${lines[i]}`);
      pieces.push(']}');
    }
    pieces.push(']}');
  }
  pieces.push(']}');
  return pieces;
}
