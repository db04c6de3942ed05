// The tables of docs/prometheus.md: every tcpscope metric and attribute as Prometheus sees it,
// computed from src/telemetry with the exporter's own naming functions, so the doc cannot drift
// from either (names_doc.test.ts fails when it does; `node dist/src/exporters/prometheus/names_doc.js`
// rewrites the tables). The text around the tables is prose the generator never touches.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../../paths';
import { agentResource } from '../../resource';
import { PROCESSOR_ATTRIBUTES } from '../../telemetry/processors';
import { METRICS, type MetricDefinition } from '../../telemetry/signals';
import { prometheusLabelName, prometheusMetricName, sanitizeMetricName, unitWords, type PrometheusType } from './naming';

export const DOC_PATH = join(PACKAGE_ROOT, 'docs', 'prometheus.md');
export const NAMES_BEGIN = '<!-- BEGIN GENERATED PROMETHEUS NAMES: `node dist/src/exporters/prometheus/names_doc.js` rewrites this from src/telemetry -->';
export const NAMES_END = '<!-- END GENERATED PROMETHEUS NAMES -->';

/** Metrics exported as OpenTelemetry exponential histograms (native histograms over protobuf). */
export const EXPONENTIAL_HISTOGRAM_METRICS: ReadonlySet<string> = new Set([METRICS.rttDuration.name]);

export interface PrometheusMetricRow {
  readonly otlpName: string;
  readonly type: PrometheusType;
  readonly prometheusName: string;
  /** The series names a query uses (an exponential histogram's first is the native histogram). */
  readonly series: readonly string[];
  /** The attribute keys of the metric as label names. */
  readonly labels: readonly string[];
  /** Why the Prometheus name differs from the OTLP name. */
  readonly why: string;
}

export function prometheusType(def: MetricDefinition): PrometheusType {
  if (def.instrument === 'histogram') return 'histogram';
  return def.instrument === 'counter' ? 'counter' : 'gauge';
}

export function metricRow(def: MetricDefinition): PrometheusMetricRow {
  const type = prometheusType(def);
  const prometheusName = prometheusMetricName(def.name, def.unit, type);
  const exponential = EXPONENTIAL_HISTOGRAM_METRICS.has(def.name);
  const series =
    type !== 'histogram'
      ? [prometheusName]
      : exponential
        ? [prometheusName, `${prometheusName}_bucket`, `${prometheusName}_sum`, `${prometheusName}_count`]
        : [`${prometheusName}_bucket`, `${prometheusName}_sum`, `${prometheusName}_count`];
  const reasons = [];
  if (sanitizeMetricName(def.name) !== def.name) reasons.push('`.` → `_`');
  const words = unitWords(def.unit);
  if (words !== '' && prometheusName.includes(`_${words}`)) reasons.push(`unit \`${def.unit}\` → \`_${words}\``);
  else if (/\{.*\}/.test(def.unit)) reasons.push(`unit \`${def.unit}\` is an annotation: no suffix`);
  if (type === 'counter') reasons.push('counter → `_total`');
  if (def.instrument === 'updowncounter') reasons.push('up-down counter → gauge');
  if (exponential) reasons.push('exponential histogram → native histogram (protobuf), classic buckets at powers of two (text)');
  return { otlpName: def.name, type, prometheusName, series, labels: def.attributes.map((a) => prometheusLabelName(a.key)), why: reasons.join('; ') };
}

export function metricRows(): PrometheusMetricRow[] {
  return Object.values(METRICS).map(metricRow);
}

/** A label name for a key that may hold a placeholder (`k8s.pod.label.<key>`). */
function labelFor(key: string): string {
  return prometheusLabelName(key.replace('<key>', 'KEY')).replace('KEY', '<key>');
}

/** Every attribute key of tcpscope's metrics, and those k8s_attributes adds, with its label name. */
export function labelRows(): [key: string, label: string][] {
  const keys = new Set<string>();
  for (const def of Object.values(METRICS)) for (const a of def.attributes) keys.add(a.key);
  for (const p of PROCESSOR_ATTRIBUTES) if (p.processor.startsWith('k8s_attributes')) for (const a of p.attributes) keys.add(a.key);
  return [...keys].sort().map((key) => [key, labelFor(key)]);
}

/** The agent's resource attributes, the labels of target_info. */
export function targetInfoRows(): [key: string, label: string][] {
  const keys = Object.keys(agentResource({ K8S_NODE_NAME: 'node' }, {}, () => 'id').attributes);
  return keys.map((key) => [key, prometheusLabelName(key)]);
}

export function renderNamesTables(): string {
  const lines = ['### Metrics', '', '| OTLP name | Prometheus type | Prometheus series | labels | why the name differs |', '|---|---|---|---|---|'];
  for (const row of metricRows()) {
    lines.push(
      `| \`${row.otlpName}\` | ${row.type} | ${row.series.map((s, i) => `\`${s}\`${i === 0 && EXPONENTIAL_HISTOGRAM_METRICS.has(row.otlpName) ? ' (native histogram)' : ''}`).join('<br>')} | ${row.labels.map((l) => `\`${l}\``).join(', ') || '–'} | ${row.why} |`,
    );
  }
  lines.push('', '### Labels', '', '| attribute | label |', '|---|---|');
  for (const [key, label] of labelRows()) lines.push(`| \`${key}\` | \`${label}\` |`);
  lines.push('', '### target_info', '', '| resource attribute | label |', '|---|---|');
  for (const [key, label] of targetInfoRows()) lines.push(`| \`${key}\` | \`${label}\` |`);
  return lines.join('\n');
}

/** The doc with the text between the markers replaced by the tables. */
export function withNamesTables(doc: string): string {
  const begin = doc.indexOf(NAMES_BEGIN);
  const end = doc.indexOf(NAMES_END);
  if (begin < 0 || end < begin) throw new Error(`${DOC_PATH} has no generated names section: add a line "${NAMES_BEGIN}" and a line "${NAMES_END}"`);
  return `${doc.slice(0, begin + NAMES_BEGIN.length)}\n${renderNamesTables()}\n${doc.slice(end)}`;
}

if (require.main === module) {
  writeFileSync(DOC_PATH, withNamesTables(readFileSync(DOC_PATH, 'utf8')));
  process.stderr.write(`wrote ${DOC_PATH}\n`);
}
