// Rewrites the generated config table of every component README from its convict schema
// (npm run docs, after a build). The tables sit between markers; the prose around them is kept.
import { readFileSync, writeFileSync } from 'node:fs';
import { FACTORIES } from '../src/components';
import { componentReadmePath, renderConfigTable, withConfigTable } from './config_docs';

for (const factory of FACTORIES) {
  const path = componentReadmePath(factory);
  const before = readFileSync(path, 'utf8');
  const after = withConfigTable(before, renderConfigTable(factory.schema), path);
  if (after !== before) {
    writeFileSync(path, after);
    process.stderr.write(`wrote ${path}\n`);
  }
}
