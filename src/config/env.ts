// `${env:VAR}` and `${env:VAR:-default}` substitution in config values, applied to the parsed YAML
// tree (never to the raw text, so a variable's content can not change the document's structure).
//
// Rules, close to the OpenTelemetry Collector's:
// - Only string values are expanded; keys never are.
// - A value that is exactly one reference is re-read as a YAML scalar, so `size: ${env:SIZE}` with
//   SIZE=4096 gives the number 4096 and `on: ${env:ON}` with ON=true a boolean. A reference inside
//   a longer string is pasted as text.
// - `:-default` applies when the variable is unset or empty, as in the shell.
// - `$${` is an escape for a literal `${`.
// - An unset variable without a default is an error naming the key path: silently using "" for
//   an endpoint or a token is a misconfiguration that is hard to find later.
import { parse as parseYaml } from 'yaml';
import { ConfigError } from '../errors';
import { formatKeyPath, isPlainMap, type KeySegment } from './keypath';

const REFERENCE = /\$\$\{|\$\{env:([^}]*)\}/g;
const WHOLE_REFERENCE = /^\$\{env:([^}]*)\}$/;
const NAME_AND_DEFAULT = /^([A-Za-z_][A-Za-z0-9_]*)(?::-(.*))?$/s;

export type Environment = { readonly [name: string]: string | undefined };

export function substituteEnv(tree: unknown, env: Environment, path: KeySegment[] = []): unknown {
  if (typeof tree === 'string') return expandString(tree, env, path);
  if (Array.isArray(tree)) return tree.map((item, i) => substituteEnv(item, env, [...path, i]));
  if (isPlainMap(tree)) {
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(tree)) out[key] = substituteEnv(value, env, [...path, key]);
    return out;
  }
  return tree;
}

function expandString(value: string, env: Environment, path: readonly KeySegment[]): unknown {
  const whole = WHOLE_REFERENCE.exec(value);
  if (whole) return asScalar(resolve(whole[1], env, path));
  return value.replace(REFERENCE, (match: string, body: string | undefined) =>
    body === undefined ? '${' : resolve(body, env, path),
  );
}

function resolve(body: string, env: Environment, path: readonly KeySegment[]): string {
  const parsed = NAME_AND_DEFAULT.exec(body);
  if (!parsed) {
    throw new ConfigError(
      formatKeyPath(path),
      `malformed reference \${env:${body}}; expected \${env:NAME} or \${env:NAME:-default}`,
    );
  }
  const [, name, fallback] = parsed;
  const value = env[name];
  if (value !== undefined && value !== '') return value;
  if (fallback !== undefined) return fallback;
  if (value === '') return value;
  throw new ConfigError(
    formatKeyPath(path),
    `environment variable ${name} is not set; set it or give a default with \${env:${name}:-default}`,
  );
}

/**
 * Reads a whole-value substitution the way YAML would read a plain number, boolean or null.
 * Anything else (including text YAML would treat as a comment, anchor, tag or quoted string)
 * stays the literal string the variable held.
 */
function asScalar(text: string): unknown {
  if (text.includes('#')) return text;
  let parsed: unknown;
  try {
    parsed = parseYaml(text);
  } catch {
    return text;
  }
  if (typeof parsed === 'number' || typeof parsed === 'boolean') return parsed;
  if (parsed === null && NULL_WORDS.has(text.trim())) return null;
  return text;
}

const NULL_WORDS = new Set(['null', 'Null', 'NULL', '~']);
