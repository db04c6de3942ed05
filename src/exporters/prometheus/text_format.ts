// The Prometheus text exposition format 0.0.4: HELP and TYPE lines, one line per sample, every
// histogram as classic buckets (the text format has no native histograms).
import type { Family, HistogramPoint, Label, ValuePoint } from './families';

export const TEXT_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export function writeText(families: readonly Family[]): string {
  const lines: string[] = [];
  for (const family of families) {
    if (family.points.length === 0) continue;
    lines.push(`# HELP ${family.name} ${escapeHelp(family.help)}`);
    lines.push(`# TYPE ${family.name} ${family.type}`);
    for (const point of family.points) {
      if (point.kind === 'value') lines.push(sample(family.name, point.labels, point.value));
      else lines.push(...histogramLines(family.name, point));
    }
  }
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}

function histogramLines(name: string, point: HistogramPoint): string[] {
  const lines = point.classic.map((b) => sample(`${name}_bucket`, [...point.labels, ['le', formatNumber(b.le)]], b.cumulativeCount));
  lines.push(sample(`${name}_bucket`, [...point.labels, ['le', '+Inf']], point.count));
  lines.push(sample(`${name}_sum`, point.labels, point.sum));
  lines.push(sample(`${name}_count`, point.labels, point.count));
  return lines;
}

function sample(name: string, labels: ValuePoint['labels'], value: number): string {
  return labels.length === 0 ? `${name} ${formatNumber(value)}` : `${name}{${labels.map(formatLabel).join(',')}} ${formatNumber(value)}`;
}

function formatLabel([name, value]: Label): string {
  return `${name}="${value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"')}"`;
}

function escapeHelp(help: string): string {
  return help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/** A sample value or `le` as Prometheus parses it: +Inf, -Inf, NaN, else the shortest decimal. */
export function formatNumber(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}
