import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { FACTORIES } from '../src/components';
import {
  MissingTableMarkersError,
  TABLE_BEGIN,
  TABLE_END,
  componentReadmePath,
  configRows,
  renderConfigTable,
  withConfigTable,
} from './config_docs';

for (const factory of FACTORIES) {
  test(`${factory.kind} ${factory.type}: README config table is generated from the schema (run \`npm run docs\`)`, () => {
    const path = componentReadmePath(factory);
    const readme = readFileSync(path, 'utf8');
    assert.equal(readme, withConfigTable(readme, renderConfigTable(factory.schema), path));
  });
}

test('nested sections become dotted keys, in schema order, with defaults as YAML values', () => {
  const schema = {
    endpoint: { doc: 'where', format: String, default: 'localhost:4317' },
    tls: { insecure: { doc: 'plaintext', format: Boolean, default: false } },
    list: { doc: 'items', format: Array, default: ['cgroup'] },
    empty: { doc: 'prefix', format: String, default: '' },
  };
  assert.deepEqual(configRows(schema), [
    { key: 'endpoint', defaultText: '`localhost:4317`', formatText: 'string', doc: 'where' },
    { key: 'tls.insecure', defaultText: '`false`', formatText: '`true` or `false`', doc: 'plaintext' },
    { key: 'list', defaultText: '`["cgroup"]`', formatText: 'list', doc: 'items' },
    { key: 'empty', defaultText: '`""`', formatText: 'string', doc: 'prefix' },
  ]);
});

test('a format function is described by what it says it expects; a default it refuses makes the key required', () => {
  const between = (value: unknown) => {
    if (typeof value !== 'number' || value < 1 || value > 9) throw new Error(`must be an integer from 1 to 9 (got ${JSON.stringify(value)})`);
  };
  const nonEmpty = (value: unknown) => {
    if (typeof value !== 'string' || value === '') throw new Error('must be a non-empty path');
  };
  const rows = configRows({
    n: { doc: 'a number', format: between, default: 3 },
    path: { doc: 'a file', format: nonEmpty, default: '' },
    mode: { doc: 'how', format: ['a', 'b'], default: 'a' },
  });
  assert.deepEqual(
    rows.map((r) => [r.key, r.defaultText, r.formatText]),
    [
      ['n', '`3`', 'an integer from 1 to 9'],
      ['path', 'none (required)', 'a non-empty path'],
      ['mode', '`a`', 'one of `a`, `b`'],
    ],
  );
});

test('pipes, newlines and angle brackets in a doc cannot break the table', () => {
  const table = renderConfigTable({ k: { doc: 'a | b\nc as k.label.<key>', format: String, default: 'x' } });
  assert.equal(table.split('\n')[2], '| `k` | `x` | string | a \\| b c as k.label.&lt;key&gt; |');
});

test('only the text between the markers is replaced', () => {
  const readme = `# t\n\nbefore\n${TABLE_BEGIN}\nold table\n${TABLE_END}\nafter\n`;
  assert.equal(withConfigTable(readme, 'NEW', 'x.md'), `# t\n\nbefore\n${TABLE_BEGIN}\nNEW\n${TABLE_END}\nafter\n`);
});

test('a README without markers (or with two tables) is an error that says what to add', () => {
  assert.throws(() => withConfigTable('# no table\n', 'T', 'a/README.md'), MissingTableMarkersError);
  const twice = `${TABLE_BEGIN}\n${TABLE_END}\n${TABLE_BEGIN}\n${TABLE_END}\n`;
  assert.throws(() => withConfigTable(twice, 'T', 'a/README.md'), /a\/README\.md has no generated config table: add a line/);
});
