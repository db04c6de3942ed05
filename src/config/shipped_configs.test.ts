// Every config shipped in config/ must validate against the shipped components.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { defaultRegistry } from '../components';
import { PACKAGE_ROOT } from '../paths';
import { loadConfigFile, validateConfig } from './index';

const CONFIG_DIR = join(PACKAGE_ROOT, 'config');

for (const file of readdirSync(CONFIG_DIR).filter((f) => f.endsWith('.yaml'))) {
  test(`config/${file} is valid`, () => {
    const validated = validateConfig(loadConfigFile(join(CONFIG_DIR, file), { OTLP_ENDPOINT: 'localhost:4317', K8S_NODE_NAME: 'node-1' }), defaultRegistry());
    assert.ok(validated.pipelines.length > 0);
  });
}
