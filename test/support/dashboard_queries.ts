// The PromQL that ships with tcpscope, gathered generically so that a new panel, variable or
// cookbook entry is checked without touching the tests: every `expr` anywhere in the Grafana
// dashboard's JSON (panel targets, nested rows included), every query variable, and every
// ```promql block of docs/promql.md. Grafana's variables are substituted with values the test
// names; a variable the test has no value for is an error, not a silent pass.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../../src/paths';

export const DASHBOARD_PATH = join(PACKAGE_ROOT, 'deploy', 'grafana', 'tcpscope.json');
export const COOKBOOK_PATH = join(PACKAGE_ROOT, 'docs', 'promql.md');

/** A dashboard as JSON.parse returns it: only what the walkers read is typed. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export interface PanelQuery {
  /** Where the query is: `panel "Title" (id 7) target B`. */
  readonly where: string;
  readonly panelTitle: string;
  readonly expr: string;
  /** Grafana's "instant" queries are evaluated once, range queries over the time range. */
  readonly instant: boolean;
}

export interface VariableQuery {
  readonly where: string;
  readonly name: string;
  /** The query text: `label_values(...)`, `query_result(...)`. */
  readonly query: string;
}

export interface CookbookQuery {
  /** `docs/promql.md:123 (under "Failures")`. */
  readonly where: string;
  readonly expr: string;
  /**
   * Which Prometheus the query is for: `native` (native histograms on, the RTT a native
   * histogram) unless the block follows a CLASSIC_MARKER line: a Prometheus that gets the RTT as
   * classic buckets.
   */
  readonly histograms: 'native' | 'classic';
}

/** The line before a ```promql block whose query needs the RTT as classic buckets. */
export const CLASSIC_MARKER = '<!-- promql: classic histograms -->';

export function loadDashboard(path = DASHBOARD_PATH): { [key: string]: Json } {
  const parsed = JSON.parse(readFileSync(path, 'utf8')) as Json;
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error(`${path}: not a JSON object`);
  return parsed;
}

function isObject(value: Json | undefined): value is { [key: string]: Json } {
  return value !== null && value !== undefined && typeof value === 'object' && !Array.isArray(value);
}

/**
 * Every target with an `expr` anywhere under `panels` (rows' nested `panels` too, and any other
 * place a future panel type keeps its targets), named by the nearest enclosing panel. Hidden
 * targets are included: a hidden query is still shipped and still has to work.
 */
export function panelQueries(dashboard: { [key: string]: Json }): PanelQuery[] {
  const found: PanelQuery[] = [];
  const walk = (node: Json | undefined, panel: { title: string; id: string } | undefined): void => {
    if (Array.isArray(node)) {
      for (const item of node) walk(item, panel);
      return;
    }
    if (!isObject(node)) return;
    const here = typeof node.title === 'string' && ('gridPos' in node || 'type' in node) ? { title: node.title, id: String(node.id ?? '?') } : panel;
    if (typeof node.expr === 'string') {
      const title = here?.title ?? '(outside any panel)';
      found.push({
        where: `panel "${title}" (id ${here?.id ?? '?'}) target ${typeof node.refId === 'string' ? node.refId : '?'}`,
        panelTitle: title,
        expr: node.expr,
        instant: node.instant === true && node.range !== true,
      });
    }
    for (const [key, value] of Object.entries(node)) if (key !== 'expr') walk(value, here);
  };
  walk(dashboard.panels, undefined);
  return found;
}

/** The query variables of `templating.list` (datasource, custom, constant... variables run no query). */
export function variableQueries(dashboard: { [key: string]: Json }): VariableQuery[] {
  const templating = dashboard.templating;
  const list = isObject(templating) && Array.isArray(templating.list) ? templating.list : [];
  const found: VariableQuery[] = [];
  for (const variable of list) {
    if (!isObject(variable) || variable.type !== 'query') continue;
    const name = String(variable.name);
    // Grafana stores the query as a string (old dashboards) or as {query, refId} (Grafana 10).
    const query = isObject(variable.query) ? variable.query.query : variable.query;
    if (typeof query !== 'string') throw new Error(`variable $${name}: no query text`);
    found.push({ where: `variable $${name}`, name, query });
  }
  return found;
}

/** Every variable the dashboard defines, by name, with its type and the options of custom ones. */
export function dashboardVariables(dashboard: { [key: string]: Json }): { name: string; type: string; options: string[] }[] {
  const templating = dashboard.templating;
  const list = isObject(templating) && Array.isArray(templating.list) ? templating.list : [];
  return list.filter(isObject).map((v) => ({
    name: String(v.name),
    type: String(v.type),
    options: Array.isArray(v.options) ? v.options.filter(isObject).map((o) => String(o.value)) : [],
  }));
}

/**
 * The ```promql blocks of a Markdown file, one query each (lines starting with `#` are PromQL
 * comments and dropped), with the line and the heading they stand under, and whether they are
 * marked as needing classic histograms.
 */
export function cookbookQueries(path = COOKBOOK_PATH, label = 'docs/promql.md'): CookbookQuery[] {
  const lines = readFileSync(path, 'utf8').split('\n');
  const found: CookbookQuery[] = [];
  let heading = '';
  for (let i = 0; i < lines.length; i++) {
    const heads = /^#{1,6}\s+(.*)$/.exec(lines[i]);
    if (heads) heading = heads[1].trim();
    if (lines[i].trim() !== '```promql') continue;
    const histograms = i > 0 && lines[i - 1].trim() === CLASSIC_MARKER ? 'classic' : 'native';
    const start = i + 1;
    const body: string[] = [];
    for (i++; i < lines.length && lines[i].trim() !== '```'; i++) body.push(lines[i]);
    if (i >= lines.length) throw new Error(`${label}:${start}: a promql block is not closed`);
    const expr = body.filter((l) => !l.trim().startsWith('#')).join('\n').trim();
    if (expr === '') throw new Error(`${label}:${start}: an empty promql block`);
    found.push({ where: `${label}:${start} (under "${heading}")`, expr, histograms });
  }
  return found;
}

/** Grafana's global variables the dashboard may use, plus its own, by name. */
export type VariableValues = Readonly<Record<string, string>>;

/**
 * `text` with every Grafana variable reference replaced: `$name`, `${name}`, `${name:format}` and
 * `[[name]]`. The longest name wins (`$workload_kind` is not `$workload` + `_kind`: names are
 * matched as whole words). A reference with no value throws, naming it.
 */
export function substituteVariables(text: string, values: VariableValues, where: string): string {
  return text.replace(/\$\{(\w+)(?::[\w]+)?\}|\[\[(\w+)\]\]|\$(\w+)/g, (reference, braced?: string, bracketed?: string, bare?: string) => {
    const name = braced ?? bracketed ?? bare ?? '';
    // `$1` is a label_replace() capture group, never a Grafana variable (Grafana leaves it too).
    if (/^\d+$/.test(name)) return reference;
    const value = values[name];
    if (value === undefined) throw new Error(`${where}: no test value for the variable ${reference} (add it to the substitution table)`);
    return value;
  });
}

/** The variable names `text` references. */
export function referencedVariables(text: string): string[] {
  const names = new Set<string>();
  for (const m of text.matchAll(/\$\{(\w+)(?::[\w]+)?\}|\[\[(\w+)\]\]|\$(\w+)/g)) {
    const name = m[1] ?? m[2] ?? m[3];
    if (!/^\d+$/.test(name)) names.add(name);
  }
  return [...names];
}

/** A variable query parsed: what to ask Prometheus's HTTP API. */
export type ParsedVariableQuery =
  | { readonly kind: 'label_values'; readonly label: string; readonly match?: string }
  | { readonly kind: 'query_result'; readonly expr: string }
  | { readonly kind: 'label_names'; readonly match?: string };

/**
 * Grafana's Prometheus variable query functions: label_values([selector,] label),
 * query_result(expr), label_names([selector]). Anything else (metrics(), a bare expression) is
 * reported, so a new kind of variable gets a way to be checked instead of being skipped.
 */
export function parseVariableQuery(query: string, where: string): ParsedVariableQuery {
  const text = query.trim();
  const call = /^(\w+)\(([\s\S]*)\)$/.exec(text);
  if (!call) throw new Error(`${where}: unsupported variable query ${JSON.stringify(query)}`);
  const [, fn, args] = call;
  switch (fn) {
    case 'label_values': {
      // The label is the last argument; the selector before it may hold commas inside {...}.
      const comma = args.lastIndexOf(',');
      const label = args.slice(comma + 1).trim();
      if (!/^\w+$/.test(label)) throw new Error(`${where}: label_values needs a label name last, got ${JSON.stringify(label)}`);
      const match = comma < 0 ? undefined : args.slice(0, comma).trim();
      return match === undefined ? { kind: 'label_values', label } : { kind: 'label_values', label, match };
    }
    case 'query_result':
      return { kind: 'query_result', expr: args.trim() };
    case 'label_names':
      return args.trim() === '' ? { kind: 'label_names' } : { kind: 'label_names', match: args.trim() };
    default:
      throw new Error(`${where}: unsupported variable query function ${fn}()`);
  }
}
