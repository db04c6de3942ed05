// Reads a config file: YAML → plain object → `${env:...}` substitution. Structure and values are
// checked later by validateConfig(); this module only turns a file into a tree or a clear error.
//
// A config file may come from anywhere an operator points the agent, so parsing is bounded: the
// file is at most MAX_CONFIG_BYTES, aliases expand at most MAX_ALIAS_EXPANSIONS times each (a
// "billion laughs" document of a few hundred bytes would otherwise expand to gigabytes), and
// every check is linear in the size of the document. Every failure is a ConfigError naming the
// file, and for syntax errors the line, column and the text found there.
import { closeSync, openSync, readSync } from 'node:fs';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import { ConfigError } from '../errors';
import { substituteEnv, type Environment } from './env';
import { formatKeyPath, isPlainMap, type KeySegment } from './keypath';
import type { ConfigDocument } from './types';

/** Largest config file accepted: a real config is a few KB; this leaves room for generated ones. */
export const MAX_CONFIG_BYTES = 4 * 1024 * 1024;
/** How often one anchor may be expanded by aliases (the yaml library's maxAliasCount). */
export const MAX_ALIAS_EXPANSIONS = 100;

export function loadConfigFile(file: string, env: Environment = process.env): ConfigDocument {
  return parseConfigText(readBounded(file), file, env);
}

/**
 * Reads at most MAX_CONFIG_BYTES + 1 bytes, so that neither a huge file nor an endless one
 * (a FIFO, /dev/zero) can exhaust memory before the size is known.
 */
function readBounded(file: string): string {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (error) {
    throw cannotRead(file, error);
  }
  try {
    const buffer = Buffer.alloc(MAX_CONFIG_BYTES + 1);
    let length = 0;
    for (;;) {
      const n = readSync(fd, buffer, length, buffer.length - length, null);
      if (n === 0) break;
      length += n;
      if (length > MAX_CONFIG_BYTES) {
        throw new ConfigError(
          '',
          `${file}: the config file is larger than ${MAX_CONFIG_BYTES} bytes (${MAX_CONFIG_BYTES / 1024 / 1024} MiB), the most tcpscope reads; is it the right file?`,
        );
      }
    }
    return buffer.toString('utf8', 0, length);
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw cannotRead(file, error);
  } finally {
    closeSync(fd);
  }
}

function cannotRead(file: string, error: unknown): ConfigError {
  const code = (error as NodeJS.ErrnoException).code;
  const reason =
    code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory, not a file' : (error as Error).message;
  return new ConfigError('', `cannot read config file ${file}: ${reason}`, { cause: error });
}

/** `file` is only used in messages. */
export function parseConfigText(text: string, file: string, env: Environment = process.env): ConfigDocument {
  if (text.length > MAX_CONFIG_BYTES) {
    throw new ConfigError('', `${file}: the config is larger than ${MAX_CONFIG_BYTES} bytes, the most tcpscope reads`);
  }
  const lines = new LineCounter();
  let doc: Document.Parsed;
  try {
    // uniqueKeys off: the library checks each key against every earlier key of its map
    // (quadratic: 20k keys took 4.4 s); checkKeys() below does the same check with a Set.
    doc = parseDocument(text, { uniqueKeys: false, prettyErrors: false, lineCounter: lines });
  } catch (error) {
    throw unparsable(file, error);
  }
  const [first] = doc.errors;
  if (first) {
    const reason =
      first.code === 'MULTIPLE_DOCS'
        ? 'a config file holds one YAML document; remove the "---" or "..." line that starts another one'
        : first.message.split('\n')[0];
    throw syntaxError(text, lines, file, first.pos[0], reason, first);
  }
  checkKeys(doc.contents, [], text, lines, file);
  let tree: unknown;
  try {
    tree = doc.toJS({ maxAliasCount: MAX_ALIAS_EXPANSIONS });
  } catch (error) {
    if (error instanceof ReferenceError && /alias/i.test(error.message)) {
      throw new ConfigError(
        '',
        `${file}: YAML aliases (*name) expand the document too much: an anchor may be used at most ${MAX_ALIAS_EXPANSIONS} times over; write the values out or use fewer aliases`,
        { cause: error },
      );
    }
    throw unparsable(file, error);
  }
  if (tree === null || tree === undefined) return {};
  if (!isPlainMap(tree)) {
    throw new ConfigError('', `${file}: the top level must be a map with receivers, processors, exporters and service`);
  }
  return substituteEnv(tree, env) as ConfigDocument;
}

/**
 * One pass over every map of the document: keys are plain values (a map or list as a key has no
 * meaning in a config), none is written twice, and none is `__proto__` (as a JavaScript property
 * name it would replace the object's prototype instead of naming a setting).
 */
function checkKeys(
  root: unknown,
  rootPath: readonly KeySegment[],
  text: string,
  lines: LineCounter,
  file: string,
): void {
  // An explicit stack rather than recursion: a deeply nested document must not overflow it.
  const stack: { node: unknown; path: readonly KeySegment[] }[] = [{ node: root, path: rootPath }];
  while (stack.length > 0) {
    const { node, path } = stack.pop()!;
    if (isSeq(node)) {
      node.items.forEach((item, i) => stack.push({ node: item, path: [...path, i] }));
    } else if (isMap(node)) {
      const seen = new Map<string, number>();
      for (const pair of node.items) {
        const key = pair.key as Node | null;
        const at = key?.range?.[0] ?? node.range?.[0] ?? 0;
        if (key !== null && !isScalar(key)) {
          throw syntaxError(text, lines, file, at, 'a map key must be a plain value, not a map or a list');
        }
        const name = key === null || key.value === null ? '' : String(key.value);
        if (name === '__proto__') {
          throw new ConfigError(
            formatKeyPath([...path, name]),
            `"__proto__" is not allowed as a key (${where(lines, file, at)}); no setting has this name`,
          );
        }
        const earlier = seen.get(name);
        if (earlier !== undefined) {
          const line = lines.linePos(earlier).line;
          throw syntaxError(text, lines, file, at, `key "${name}" is written twice in one map (first on line ${line}); keep one`);
        }
        seen.set(name, at);
        stack.push({ node: pair.value, path: [...path, name] });
      }
    }
  }
}

function where(lines: LineCounter, file: string, offset: number): string {
  const { line, col } = lines.linePos(offset);
  return `${file}:${line}:${col}`;
}

/** `file:line:col: YAML syntax error: <reason>, at "<the text on that line>"`. */
function syntaxError(
  text: string,
  lines: LineCounter,
  file: string,
  offset: number,
  reason: string,
  cause?: unknown,
): ConfigError {
  const { line } = lines.linePos(offset);
  const start = lines.lineStarts[line - 1] ?? text.length;
  const end = text.indexOf('\n', start);
  const source = text.slice(start, end < 0 ? text.length : end).replace(/\r$/, '').trimEnd();
  const shown = source.length > 60 ? `${source.slice(0, 57)}...` : source;
  const found = shown.trim() === '' ? 'at the end of the file' : `at ${JSON.stringify(shown)}`;
  return new ConfigError('', `${where(lines, file, offset)}: YAML syntax error: ${reason}, ${found}`, { cause });
}

/** The parser itself failed (e.g. its stack on absurd nesting): still a config error, not a crash. */
function unparsable(file: string, error: unknown): ConfigError {
  return new ConfigError('', `${file}: cannot parse the YAML: ${(error as Error).message}`, { cause: error });
}
