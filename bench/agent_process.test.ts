// launcherNodeFlags() reads the node flags off bin/tcpscope's exec line; the benchmarks that run
// agent code in their own node process (k8s_memory, heap_flags) rely on it to measure under the
// agent's heap settings. Checked against what the launcher really passes: it is run with a
// stand-in `node` first in PATH that prints its argv.
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { launcherNodeFlags } from './agent_process';

const LAUNCHER = resolve(__dirname, '..', '..', 'bin', 'tcpscope');
const dir = mkdtempSync(join(tmpdir(), 'tcpscope-launcher-flags-'));
after(() => rmSync(dir, { recursive: true, force: true }));
writeFileSync(join(dir, 'node'), '#!/bin/sh\nfor a in "$@"; do printf "%s\\n" "$a"; done\n');
chmodSync(join(dir, 'node'), 0o755);

function launchedArgv(env: NodeJS.ProcessEnv): string[] {
  const run = spawnSync(LAUNCHER, ['run', '--config', 'x.yaml'], { encoding: 'utf8', env: { ...env, PATH: `${dir}:${process.env.PATH}` } });
  assert.equal(run.status, 0, run.stderr);
  return run.stdout.trimEnd().split('\n');
}

describe('launcherNodeFlags', () => {
  it('returns the flags the launcher passes to node, defaults applied', () => {
    const flags = launcherNodeFlags(LAUNCHER, {});
    assert.deepEqual(flags, ['--max-semi-space-size=8', '--heap-growing-percent=25', '--v8-pool-size=1']);
    assert.deepEqual(launchedArgv({}), [...flags, resolve(__dirname, '..', '..', 'bin', 'tcpscope.js'), 'run', '--config', 'x.yaml']);
  });

  it('takes an override from the environment as the launcher does', () => {
    const env = { TCPSCOPE_SEMI_SPACE_MB: '16', TCPSCOPE_HEAP_GROWING_PERCENT: '50', TCPSCOPE_V8_POOL_SIZE: '2' };
    const flags = launcherNodeFlags(LAUNCHER, env);
    assert.deepEqual(flags, ['--max-semi-space-size=16', '--heap-growing-percent=50', '--v8-pool-size=2']);
    assert.deepEqual(launchedArgv(env).slice(0, 3), flags);
  });
});
