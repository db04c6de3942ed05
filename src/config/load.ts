// Reads a config file: YAML → plain object → `${env:...}` substitution. Structure and values are
// checked later by validateConfig(); this module only turns a file into a tree or a clear error.
import { readFileSync } from 'node:fs';
import { LineCounter, parseDocument } from 'yaml';
import { ConfigError } from '../errors';
import { substituteEnv, type Environment } from './env';
import { isPlainMap } from './keypath';
import type { ConfigDocument } from './types';

export function loadConfigFile(file: string, env: Environment = process.env): ConfigDocument {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message;
    throw new ConfigError('', `cannot read config file ${file}: ${reason}`, { cause: error });
  }
  return parseConfigText(text, file, env);
}

/** `file` is only used in messages. */
export function parseConfigText(text: string, file: string, env: Environment = process.env): ConfigDocument {
  // uniqueKeys: a key written twice is almost always a merge mistake; YAML itself forbids it.
  const lines = new LineCounter();
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: false, lineCounter: lines });
  const [first] = doc.errors;
  if (first) {
    const at = lines.linePos(first.pos[0]);
    const where = `${file}:${at.line}:${at.col}`;
    const reason = first.message.split('\n')[0];
    throw new ConfigError('', `${where}: YAML syntax error: ${reason}`, { cause: first });
  }
  const tree: unknown = doc.toJS({ maxAliasCount: 100 });
  if (tree === null || tree === undefined) return {};
  if (!isPlainMap(tree)) {
    throw new ConfigError('', `${file}: the top level must be a map with receivers, processors, exporters and service`);
  }
  return substituteEnv(tree, env) as ConfigDocument;
}
