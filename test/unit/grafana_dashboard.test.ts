// The Grafana dashboard's structure (what makes it importable and laid out), and every shipped
// query's PromQL syntax, without a kernel or a running Prometheus. Whether each query returns
// data from the real agent is test/e2e/grafana_dashboard_queries.test.ts.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { stringify } from 'yaml';
import { labelRows, metricRows, targetInfoRows } from '../../src/exporters/prometheus/names_doc';
import { isCi } from '../support/kernel';
import {
  cookbookQueries,
  dashboardVariables,
  loadDashboard,
  panelQueries,
  parseVariableQuery,
  referencedVariables,
  substituteVariables,
  variableQueries,
  type Json,
} from '../support/dashboard_queries';

type JsonObject = { [key: string]: Json };

const dashboard = loadDashboard();
const DATASOURCE = { type: 'prometheus', uid: '${datasource}' };
/** Grafana's own variables that the dashboard's queries may use. */
const GRAFANA_GLOBALS = new Set(['__rate_interval', '__interval', '__range', '__range_s', '__interval_ms']);

function isObject(value: Json | undefined): value is JsonObject {
  return value !== null && value !== undefined && typeof value === 'object' && !Array.isArray(value);
}

/** Every panel, rows' nested panels included. */
function allPanels(): JsonObject[] {
  const out: JsonObject[] = [];
  const walk = (list: Json | undefined) => {
    if (!Array.isArray(list)) return;
    for (const panel of list.filter(isObject)) {
      out.push(panel);
      walk(panel.panels);
    }
  };
  walk(dashboard.panels);
  return out;
}

test('the dashboard is an importable Grafana 10 dashboard with a Prometheus datasource variable', () => {
  assert.equal(typeof dashboard.title, 'string');
  assert.match(String(dashboard.uid), /^[\w-]{1,40}$/, 'a stable uid (Grafana allows up to 40 characters)');
  assert.ok(typeof dashboard.schemaVersion === 'number' && dashboard.schemaVersion >= 38, `schemaVersion ${String(dashboard.schemaVersion)} >= 38`);
  assert.equal(dashboard.id, undefined, 'no database id: Grafana assigns one on import');
  const variables = dashboardVariables(dashboard);
  const datasource = variables.find((v) => v.name === 'datasource');
  assert.equal(datasource?.type, 'datasource');
  const raw = (dashboard.templating as JsonObject).list as Json[];
  assert.equal((raw.filter(isObject).find((v) => v.name === 'datasource') as JsonObject).query, 'prometheus');
  assert.deepEqual(
    variables.map((v) => v.name).sort(),
    [...new Set(variables.map((v) => v.name))].sort(),
    'variable names are unique',
  );
});

test('panel ids are unique, every panel but a row has the datasource variable and at least one target', () => {
  const panels = allPanels();
  assert.ok(panels.length > 10, `${panels.length} panels`);
  const ids = panels.map((p) => p.id);
  assert.ok(ids.every((id) => typeof id === 'number' && Number.isInteger(id) && id > 0), `integer ids: ${ids.join(',')}`);
  assert.equal(new Set(ids).size, ids.length, `unique ids: ${ids.join(',')}`);
  for (const panel of panels) {
    const name = `panel "${String(panel.title)}" (id ${String(panel.id)})`;
    assert.ok(typeof panel.title === 'string' && panel.title !== '', `${name}: a title`);
    if (panel.type === 'row') {
      assert.equal(panel.targets, undefined, `${name}: a row runs no query`);
      continue;
    }
    assert.deepEqual(panel.datasource, DATASOURCE, `${name}: datasource is the \${datasource} variable`);
    assert.ok(Array.isArray(panel.targets) && panel.targets.length > 0, `${name}: at least one target`);
    const refIds = new Set<string>();
    for (const target of (panel.targets as Json[]).filter(isObject)) {
      assert.ok(typeof target.expr === 'string' && target.expr.trim() !== '', `${name}: every target has an expr`);
      assert.ok(typeof target.refId === 'string' && !refIds.has(target.refId), `${name}: unique refIds`);
      refIds.add(target.refId as string);
      if (target.datasource !== undefined) assert.deepEqual(target.datasource, DATASOURCE, `${name} target ${String(target.refId)}: datasource`);
    }
    assert.equal(refIds.size, (panel.targets as Json[]).length, `${name}: every target is an object with a refId`);
  }
});

test('gridPos: inside the 24-column grid, sane sizes, no two panels overlapping', () => {
  const boxes: { name: string; x: number; y: number; w: number; h: number }[] = [];
  for (const panel of allPanels()) {
    const name = `panel "${String(panel.title)}" (id ${String(panel.id)})`;
    const pos = panel.gridPos;
    assert.ok(isObject(pos), `${name}: a gridPos`);
    const { x, y, w, h } = pos as { x: Json; y: Json; w: Json; h: Json };
    for (const [key, value] of Object.entries({ x, y, w, h })) assert.ok(typeof value === 'number' && Number.isInteger(value), `${name}: gridPos.${key} is an integer`);
    const box = { name, x: x as number, y: y as number, w: w as number, h: h as number };
    assert.ok(box.x >= 0 && box.y >= 0, `${name}: x, y >= 0`);
    assert.ok(box.w >= 1 && box.x + box.w <= 24, `${name}: within 24 columns (x ${box.x}, w ${box.w})`);
    assert.ok(box.h >= 1 && box.h <= 40, `${name}: height 1..40 (${box.h})`);
    if (panel.type === 'row') assert.deepEqual([box.x, box.w, box.h], [0, 24, 1], `${name}: a row spans the grid, one unit high`);
    else assert.ok(box.w >= 4 && box.h >= 3, `${name}: big enough to read (w ${box.w}, h ${box.h})`);
    // Panels inside a collapsed row keep their own positions; only top-level panels share the grid.
    if (!(dashboard.panels as Json[]).includes(panel)) continue;
    for (const other of boxes) {
      const overlaps = box.x < other.x + other.w && other.x < box.x + box.w && box.y < other.y + other.h && other.y < box.y + box.h;
      assert.ok(!overlaps, `${name} overlaps ${other.name}`);
    }
    boxes.push(box);
  }
});

test('queries reference only the dashboard variables and Grafana globals; variable queries parse', () => {
  const defined = new Set(dashboardVariables(dashboard).map((v) => v.name));
  const texts: [string, string][] = [
    ...panelQueries(dashboard).map((q): [string, string] => [q.where, q.expr]),
    ...variableQueries(dashboard).map((q): [string, string] => [q.where, q.query]),
  ];
  for (const panel of allPanels()) {
    for (const target of (Array.isArray(panel.targets) ? panel.targets : []).filter(isObject)) {
      if (typeof target.legendFormat === 'string') texts.push([`panel "${String(panel.title)}" legend`, target.legendFormat]);
    }
  }
  for (const [where, text] of texts) {
    for (const name of referencedVariables(text)) assert.ok(defined.has(name) || GRAFANA_GLOBALS.has(name), `${where}: $${name} is neither a dashboard variable nor a Grafana global`);
  }
  const variables = variableQueries(dashboard);
  assert.ok(variables.length >= 3, 'namespace, workload and pod are query variables');
  for (const v of variables) {
    const parsed = parseVariableQuery(substituteVariables(v.query, syntaxCheckValues()[0], v.where), v.where);
    assert.ok(parsed.kind === 'label_values' || parsed.kind === 'query_result' || parsed.kind === 'label_names');
  }
  for (const raw of ((dashboard.templating as JsonObject).list as Json[]).filter(isObject)) {
    if (raw.type === 'query') assert.deepEqual(raw.datasource, DATASOURCE, `variable $${String(raw.name)}: datasource`);
  }
});

test('the cookbook\'s queries are plain PromQL: no Grafana variables', () => {
  const queries = cookbookQueries();
  assert.ok(queries.length >= 20, `${queries.length} promql blocks in docs/promql.md`);
  for (const q of queries) assert.deepEqual(referencedVariables(q.expr), [], `${q.where}: runs as it stands in the Prometheus UI`);
});

/** Values that make every query syntactically complete; each custom variable option is tried. */
function syntaxCheckValues(): Record<string, string>[] {
  const base: Record<string, string> = { __rate_interval: '1m', __interval: '15s', __range: '1h', __range_s: '3600', __interval_ms: '15000', datasource: 'prometheus' };
  const variables = dashboardVariables(dashboard);
  for (const v of variables) if (v.type !== 'custom' && base[v.name] === undefined) base[v.name] = '.*';
  let sets = [base];
  for (const v of variables.filter((x) => x.type === 'custom')) {
    assert.ok(v.options.length > 0, `custom variable $${v.name} has options`);
    sets = sets.flatMap((set) => v.options.map((option) => ({ ...set, [v.name]: option })));
  }
  return sets;
}

test('every dashboard and cookbook query is valid PromQL (promtool check rules)', (t) => {
  const check = spawnSync('promtool', ['--version'], { encoding: 'utf8' });
  if (check.error) {
    const reason = `promtool (Debian package prometheus) is not installed: ${check.error.message}; scripts/setup.sh installs it`;
    if (isCi(process.env.CI)) assert.fail(reason);
    t.skip(reason);
    return;
  }
  const rules: { record: string; expr: string }[] = [];
  const origin: string[] = [];
  const add = (where: string, expr: string) => {
    rules.push({ record: `tcpscope_query_check_${rules.length}`, expr });
    origin.push(`${where}: ${expr}`);
  };
  for (const values of syntaxCheckValues()) {
    for (const q of panelQueries(dashboard)) add(q.where, substituteVariables(q.expr, values, q.where));
    for (const v of variableQueries(dashboard)) {
      const parsed = parseVariableQuery(substituteVariables(v.query, values, v.where), v.where);
      if (parsed.kind === 'query_result') add(v.where, parsed.expr);
      else if (parsed.match !== undefined) add(v.where, parsed.match);
    }
  }
  for (const q of cookbookQueries()) add(q.where, q.expr);
  const dir = mkdtempSync(join(tmpdir(), 'tcpscope-promql-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'rules.yaml');
  writeFileSync(file, stringify({ groups: [{ name: 'tcpscope', rules }] }));
  const result = spawnSync('promtool', ['check', 'rules', file], { encoding: 'utf8' });
  if (result.status !== 0) {
    // promtool names the rule by its position in the group: map it back to the panel or line.
    const text = `${result.stdout}\n${result.stderr}`.replace(/tcpscope_query_check_(\d+)/g, (_, i: string) => origin[Number(i)] ?? _);
    assert.fail(`promtool rejects a query:\n${text}`);
  }
  assert.match(result.stdout, new RegExp(`SUCCESS: ${rules.length} rules found`));
});

/** Every series name the prometheus exporter serves, from the exporter's own naming of src/telemetry. */
const SERIES = new Set([...metricRows().flatMap((r) => r.series), 'target_info']);
/** Every label those series can carry, Prometheus' own and the exporter's scope labels included. */
const LABELS = new Set([
  ...metricRows().flatMap((r) => r.labels),
  ...labelRows().map(([, label]) => label),
  ...targetInfoRows().map(([, label]) => label),
  'le', 'job', 'instance', 'otel_scope_name', 'otel_scope_version',
]);
const PROMQL_WORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'and', 'or', 'unless', 'offset', 'inf', 'nan']);

/** The metric names and label names a query uses (a light lexer: enough for these queries). */
function namesIn(expr: string): { metrics: string[]; labels: string[] } {
  const labels: string[] = [];
  const noStrings = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  for (const m of noStrings.matchAll(/\{([^}]*)\}/g)) for (const matcher of m[1].matchAll(/(\w+)\s*(?:=~|!~|!=|=)/g)) labels.push(matcher[1]);
  for (const m of noStrings.matchAll(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)/g)) labels.push(...m[1].split(',').map((l) => l.trim()).filter(Boolean));
  const bare = noStrings
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const metrics = [...bare.matchAll(/(?<![\w.])([a-zA-Z_:][\w:]*)\b(?!\s*\()/g)].map((m) => m[1]).filter((w) => !PROMQL_WORDS.has(w.toLowerCase()));
  return { metrics, labels };
}

test('every metric and label name in the dashboard and the cookbook is one the prometheus exporter serves', () => {
  const checked: [string, string][] = [];
  for (const values of syntaxCheckValues()) {
    for (const q of panelQueries(dashboard)) checked.push([q.where, substituteVariables(q.expr, values, q.where)]);
    for (const v of variableQueries(dashboard)) {
      const parsed = parseVariableQuery(substituteVariables(v.query, values, v.where), v.where);
      if (parsed.kind === 'label_values') {
        assert.ok(LABELS.has(parsed.label), `${v.where}: label ${parsed.label} is not served`);
        if (parsed.match !== undefined) checked.push([v.where, parsed.match]);
      } else if (parsed.kind === 'query_result') checked.push([v.where, parsed.expr]);
    }
  }
  for (const q of cookbookQueries()) checked.push([q.where, q.expr]);
  let metrics = 0;
  for (const [where, expr] of checked) {
    const names = namesIn(expr);
    assert.ok(names.metrics.length > 0, `${where}: no metric name found in ${expr}`);
    metrics += names.metrics.length;
    for (const name of names.metrics) assert.ok(SERIES.has(name), `${where}: ${name} is not a series the exporter serves (docs/prometheus.md lists them)\n  ${expr}`);
    for (const label of names.labels) assert.ok(LABELS.has(label), `${where}: label ${label} is not one the exporter serves (docs/prometheus.md lists them)\n  ${expr}`);
  }
  assert.ok(metrics > checked.length, 'the lexer finds the names');
});
