// Validates one component's settings against its factory's convict schema and returns them with
// defaults applied.
//
// convict does the format checks, but it is lenient in ways that hurt in a YAML config: it
// silently coerces strings (`enabled: "no"` becomes true, `size: "big"` becomes NaN), lets a map
// replace a single value, reports every problem as one joined string, and reads process.env and
// argv. So the settings are first checked here for shape (unknown keys, maps where a single value
// belongs, strings where convict would coerce), then convict runs isolated from the process, and
// its first complaint is turned into one ConfigError naming the key path, the value given and the
// setting's doc and default.
import convict from 'convict';
import { ConfigError } from '../errors';
import { describeValue, formatKeyPath, isPlainMap, type KeySegment } from './keypath';
import { asSchemaLeaf, isSchemaSection, schemaLeaves, type SettingsLeaf, type SettingsSchema } from './settings_schema';

export type { SettingsSchema } from './settings_schema';

/** Lower-case names convict gives the built-in constructors it accepts as formats. */
const BUILT_IN_FORMATS = new Map<unknown, string>([
  [Number, 'number'], ['Number', 'number'],
  [String, 'string'], ['String', 'string'],
  [Boolean, 'boolean'], ['Boolean', 'boolean'],
  [Array, 'array'], ['Array', 'array'],
  [Object, 'object'], ['Object', 'object'],
  [RegExp, 'regexp'], ['RegExp', 'regexp'],
]);

export function validateComponentSettings(
  schema: SettingsSchema,
  settings: unknown,
  path: readonly KeySegment[],
): unknown {
  // `debug:` with nothing after it means "all defaults", as in the Collector.
  const given = settings ?? {};
  if (!isPlainMap(given)) {
    throw new ConfigError(formatKeyPath(path), `must be a map of settings (or empty for the defaults), got ${describeValue(given)}`);
  }
  const tree = schema as Record<string, unknown>;
  const order: string[] = [];
  const cleaned = checkShape(tree, given, path, [], order);

  const config = convict(schema as convict.Schema<Record<string, unknown>>, { env: {}, args: [] });
  try {
    config.load(cleaned);
    config.validate({ allowed: 'strict' });
  } catch (error) {
    throw toConfigError(error as Error, tree, given, config.getProperties(), path, order);
  }
  return config.getProperties();
}

/**
 * Walks the given settings in document order; returns a copy with null sections removed (they
 * mean "defaults") and records the dotted path of every leaf given, for ordering errors.
 */
function checkShape(
  schema: Record<string, unknown>,
  given: Record<string, unknown>,
  base: readonly KeySegment[],
  dotted: readonly string[],
  order: string[],
): Record<string, unknown> {
  const cleaned: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(given)) {
    const keyPath = formatKeyPath([...base, ...dotted, key]);
    if (!Object.prototype.hasOwnProperty.call(schema, key)) {
      const known = Object.keys(schema);
      const hint = known.length > 0 ? `expected one of: ${known.join(', ')}` : 'this component takes no settings';
      throw new ConfigError(keyPath, `unknown key; ${hint}`);
    }
    const node = schema[key];
    if (isSchemaSection(node)) {
      if (value === null || value === undefined) continue;
      if (!isPlainMap(value)) {
        throw new ConfigError(keyPath, `must be a map with keys ${Object.keys(node).join(', ')}, got ${describeValue(value)}`);
      }
      cleaned[key] = checkShape(node, value, base, [...dotted, key], order);
      continue;
    }
    const leaf = asSchemaLeaf(node);
    const target = coercionTarget(leaf);
    const mapAllowed = target === 'object' || target === null;
    if (typeof value === 'string' && isCoercedFromString(target)) {
      throw new ConfigError(keyPath, `${expectation(leaf, target)}, got ${shown(leaf, value)}${explain(leaf)}`);
    }
    if (typeof value === 'number' && !Number.isFinite(value) && target === 'number' && !hasFormatFunction(leaf)) {
      // YAML's .nan and 1e400 are numbers, and convict's Number format lets NaN and Infinity pass
      // (a format function says itself what range it takes).
      throw new ConfigError(keyPath, `must be a finite number, got ${shown(leaf, value)}${explain(leaf)}`);
    }
    if (isPlainMap(value) && !mapAllowed) {
      // convict would take the map for a nested section and report "did you override its parent?".
      // A format function may accept more than its default's type, so it only says "not a map".
      const expected = typeof leaf.format === 'function' ? 'must not be a map' : expectation(leaf, target);
      throw new ConfigError(keyPath, `${expected}, got ${shown(leaf, value)}${explain(leaf)}`);
    }
    order.push([...dotted, key].join('.'));
    cleaned[key] = value;
  }
  return cleaned;
}

/** A format function of the component's own (not one of the constructors convict knows). */
function hasFormatFunction(leaf: SettingsLeaf): boolean {
  return typeof leaf.format === 'function' && !BUILT_IN_FORMATS.has(leaf.format);
}

/** The type convict would coerce a string into for this leaf (mirrors convict's getFormat()). */
function coercionTarget(leaf: SettingsLeaf): string | null {
  const builtIn = BUILT_IN_FORMATS.get(leaf.format);
  if (builtIn) return builtIn;
  if (typeof leaf.format === 'string') return leaf.format;
  if (leaf.default !== null && leaf.default !== undefined) {
    return Array.isArray(leaf.default) ? 'array' : typeof leaf.default;
  }
  return null;
}

function isCoercedFromString(target: string | null): boolean {
  return target !== null && ['int', 'integer', 'nat', 'port', 'number', 'boolean', 'array', 'object'].includes(target);
}

function expectation(leaf: SettingsLeaf, target: string | null): string {
  if (Array.isArray(leaf.format)) return `must be one of ${leaf.format.map((v) => JSON.stringify(v)).join(', ')}`;
  switch (target) {
    case 'int':
    case 'integer':
      return 'must be an integer';
    case 'nat':
      return 'must be a non-negative integer';
    case 'port':
      return 'must be a port number (0-65535)';
    case 'number':
      return 'must be a number';
    case 'boolean':
      return 'must be true or false';
    case 'array':
      return 'must be a list';
    case 'object':
      return Array.isArray(leaf.default) ? 'must be a list' : 'must be a map';
    case 'string':
      return 'must be a string';
    default:
      return 'must be a single value';
  }
}

function shown(leaf: SettingsLeaf, value: unknown): string {
  return leaf.sensitive ? 'a value not shown because the setting is sensitive' : describeValue(value);
}

/** ` (doc; default X)`: what the setting is for and what it is when left out. */
function explain(leaf: SettingsLeaf): string {
  const parts: string[] = [];
  // Docs are sentences; their final period would stand before the `;`.
  if (leaf.doc) parts.push(leaf.doc.replace(/\.$/, ''));
  if (leaf.default !== null && leaf.default !== undefined && !leaf.sensitive) {
    parts.push(`default ${describeValue(leaf.default)}`);
  }
  return parts.length > 0 ? ` (${parts.join('; ')})` : '';
}

/** convict's messages for its built-in formats, reworded to match the shape checks above. */
const CONVICT_WORDING = new Map<string, string>([
  ['must be a positive integer', 'must be a non-negative integer'], // convict's `nat` accepts 0
  ['must be of type Number', 'must be a number'],
  ['should be of type Number', 'must be a number'],
  ['must be of type String', 'must be a string'],
  ['should be of type String', 'must be a string'],
  ['must be of type Boolean', 'must be true or false'],
  ['should be of type Boolean', 'must be true or false'],
  ['must be of type Array', 'must be a list'],
  ['should be of type Array', 'must be a list'],
  ['must be of type Object', 'must be a map'],
  ['should be of type Object', 'must be a map'],
]);

function reword(problem: string): string {
  const fixed = CONVICT_WORDING.get(problem);
  if (fixed) return fixed;
  const oneOf = /^must be one of the possible values: (\[.*\])$/s.exec(problem);
  if (oneOf) {
    const values = JSON.parse(oneOf[1]) as unknown[];
    return `must be one of ${values.map((v) => JSON.stringify(v)).join(', ')}`;
  }
  return problem;
}

/**
 * convict throws one Error whose message joins `<dotted.path>: <problem>[: value was <json>]`
 * lines, type errors first in schema order. Picks the complaint about the key that comes first in
 * the user's document, so the reported error does not depend on how the schema is ordered.
 */
function toConfigError(
  error: Error,
  schema: Record<string, unknown>,
  given: Record<string, unknown>,
  loaded: Record<string, unknown>,
  base: readonly KeySegment[],
  order: readonly string[],
): ConfigError {
  const leaves = schemaLeaves(schema).map((entry) => entry.path.join('.'));
  const complaints: { leaf: string; text: string }[] = [];
  for (const line of error.message.split('\n')) {
    const leaf = leaves
      .filter((p) => line.startsWith(`${p}: `))
      .sort((a, b) => b.length - a.length)[0];
    if (leaf !== undefined) complaints.push({ leaf, text: line.slice(leaf.length + 2) });
    else if (complaints.length > 0) complaints[complaints.length - 1].text += `\n${line}`;
  }
  const rank = (leaf: string) => {
    const inDoc = order.indexOf(leaf);
    return inDoc >= 0 ? inDoc : order.length + leaves.indexOf(leaf);
  };
  const first = complaints.sort((a, b) => rank(a.leaf) - rank(b.leaf))[0];
  if (!first) return new ConfigError(formatKeyPath(base), error.message, { cause: error });

  const segments = first.leaf.split('.');
  const leaf = asSchemaLeaf(lookup(schema, segments));
  const convictValue = lookup(loaded, segments);
  let problem = first.text.trim();
  const suffix = `: value was ${JSON.stringify(convictValue)}`;
  if (problem.endsWith(suffix)) problem = problem.slice(0, -suffix.length);
  problem = reword(problem);
  const keyPath = formatKeyPath([...base, ...segments]);
  if (!order.includes(first.leaf)) {
    // Nothing given, and the default does not pass: a setting the user must provide.
    return new ConfigError(keyPath, `is required: ${problem}${explain(leaf)}`, { cause: error });
  }
  return new ConfigError(keyPath, `${problem}, got ${shown(leaf, lookup(given, segments))}${explain(leaf)}`, {
    cause: error,
  });
}

/** Follows dotted segments through nested maps (a schema's sections or the settings themselves). */
function lookup(tree: unknown, segments: readonly string[]): unknown {
  let node = tree;
  for (const segment of segments) {
    if (!isPlainMap(node) || !Object.prototype.hasOwnProperty.call(node, segment)) return undefined;
    node = node[segment];
  }
  return node;
}
