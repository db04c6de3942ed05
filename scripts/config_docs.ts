// Renders the config table of each component README from the component's convict schema, the
// way docs/telemetry.md is rendered from src/telemetry/: the schema that validates a config is
// the only source of a key's default, accepted values and meaning, so README and code cannot
// drift (scripts/config_docs.test.ts fails when they do; `npm run docs` rewrites the tables).
//
// A table sits between two marker lines in the README; everything outside them is prose that
// the generator never touches.
import { join } from 'node:path';
import type { Factory } from '../src/component';
import { schemaLeaves, type SettingsLeaf } from '../src/config/settings_schema';
import { PACKAGE_ROOT } from '../src/paths';

export const TABLE_BEGIN =
  '<!-- BEGIN GENERATED CONFIG TABLE: `npm run docs` rewrites this from the config schema; edit the schema, not the table -->';
export const TABLE_END = '<!-- END GENERATED CONFIG TABLE -->';

export interface ConfigRow {
  /** Dotted key path below the component id, e.g. `retry_on_failure.max_interval`. */
  readonly key: string;
  /** The default as written in YAML, or a note that the key must be given. */
  readonly defaultText: string;
  /** What values are accepted. */
  readonly formatText: string;
  readonly doc: string;
}

const BUILT_IN_FORMATS = new Map<unknown, string>([
  [Number, 'number'],
  [String, 'string'],
  [Boolean, '`true` or `false`'],
  [Array, 'list'],
  [Object, 'map'],
  [RegExp, 'regular expression'],
]);

// Values of every kind a format function may be handed. A format function's error message is
// its own statement of what it accepts ("must be an integer from 16 to 1048576"), so the table
// shows the messages these probes provoke: one source for validation and documentation, and a
// schema changed by anyone is documented correctly without touching this file.
const FORMAT_PROBES: readonly unknown[] = [{}, -1, 0, '', 'x', [], 2 ** 53];

/** Every leaf of a schema in schema order, nested sections flattened to dotted keys. */
export function configRows(schema: object): ConfigRow[] {
  return schemaLeaves(schema).map(({ path, leaf }) => ({ key: path.join('.'), defaultText: defaultText(leaf), formatText: formatText(leaf), doc: leaf.doc ?? '' }));
}

function defaultText(leaf: SettingsLeaf): string {
  if (leaf.sensitive) return '(sensitive, not shown)';
  if (typeof leaf.format === 'function' && !BUILT_IN_FORMATS.has(leaf.format) && problemWith(leaf.format, leaf.default) !== undefined) {
    // The default does not pass its own format: the key has to be given.
    return 'none (required)';
  }
  if (typeof leaf.default === 'string' && leaf.default !== '') return code(leaf.default);
  return code(JSON.stringify(leaf.default) ?? String(leaf.default));
}

function formatText(leaf: SettingsLeaf): string {
  const format = leaf.format;
  if (format === undefined) return typeName(leaf.default);
  const builtIn = BUILT_IN_FORMATS.get(format);
  if (builtIn !== undefined) return builtIn;
  if (Array.isArray(format)) return `one of ${format.map((v) => code(String(v))).join(', ')}`;
  if (typeof format === 'string') return `convict format ${code(format)}`;
  if (typeof format === 'function') {
    const expectations: string[] = [];
    for (const probe of FORMAT_PROBES) {
      const problem = problemWith(format, probe);
      if (problem === undefined) continue;
      const expected = expectation(problem);
      if (!expectations.includes(expected)) expectations.push(expected);
    }
    return expectations.length > 0 ? expectations.join('; ') : typeName(leaf.default);
  }
  return typeName(leaf.default);
}

function problemWith(format: unknown, value: unknown): string | undefined {
  try {
    (format as (v: unknown) => void)(value);
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

/** "must be an integer from 1 to 9 (got {})" → "an integer from 1 to 9". */
function expectation(problem: string): string {
  return problem
    .replace(/\s*\(got [\s\S]*\)\s*$/, '')
    .replace(/,\s*got [\s\S]*$/, '')
    .replace(/^must be\s+/, '')
    .trim();
}

function typeName(value: unknown): string {
  if (Array.isArray(value)) return 'list';
  if (value === null || value === undefined) return 'any';
  if (typeof value === 'object') return 'map';
  if (typeof value === 'boolean') return '`true` or `false`';
  return typeof value;
}

function code(text: string): string {
  // A backtick inside would end the code span early; doubling the fence is the Markdown way.
  return text.includes('`') ? `\`\` ${text} \`\`` : `\`${text}\``;
}

function cell(text: string): string {
  return text.replace(/\r?\n/g, ' ').replace(/\|/g, '\\|');
}

/** Plain text for a cell: `<key>` in a doc would otherwise vanish as an unknown HTML tag. */
function prose(text: string): string {
  return cell(text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;'));
}

export function renderConfigTable(schema: object): string {
  const lines = ['| key | default | accepted values | meaning |', '|---|---|---|---|'];
  for (const row of configRows(schema)) {
    lines.push(`| ${cell(code(row.key))} | ${cell(row.defaultText)} | ${cell(row.formatText)} | ${prose(row.doc)} |`);
  }
  return lines.join('\n');
}

/** src/<kind>s/<type>/README.md, the component's own README. */
export function componentReadmePath(factory: Factory): string {
  return join(PACKAGE_ROOT, 'src', `${factory.kind}s`, factory.type, 'README.md');
}

export class MissingTableMarkersError extends Error {
  constructor(readonly readmePath: string) {
    super(
      `${readmePath} has no generated config table: add a line "${TABLE_BEGIN}" and a line "${TABLE_END}" where the table belongs, then run \`npm run docs\``,
    );
    this.name = 'MissingTableMarkersError';
  }
}

/** The README with the text between the markers replaced by `table`. */
export function withConfigTable(readme: string, table: string, readmePath: string): string {
  const begin = readme.indexOf(TABLE_BEGIN);
  const end = readme.indexOf(TABLE_END);
  if (begin < 0 || end < begin || readme.indexOf(TABLE_BEGIN, begin + 1) >= 0) throw new MissingTableMarkersError(readmePath);
  return `${readme.slice(0, begin + TABLE_BEGIN.length)}\n${table}\n${readme.slice(end)}`;
}
