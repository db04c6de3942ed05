// What a person sees when the kernel says no: the verifier's reason, a missing capability.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BpfObject } from '../../src/bridge/bpf_object';
import { BpfLoadError } from '../../src/errors';
import { PACKAGE_ROOT } from '../../src/paths';
import { requireKernel } from '../support/kernel';

test('a verifier rejection is a BpfLoadError carrying the verifier log tail', (t) => {
  if (!requireKernel(t)) return;
  const dir = mkdtempSync(join(tmpdir(), 'tcpscope-verifier-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const object = join(dir, 'rejected.bpf.o');
  const source = join(PACKAGE_ROOT, 'test', 'fixtures', 'bpf', 'rejected_by_verifier.bpf.c');
  execFileSync('clang', ['-target', 'bpf', '-O2', '-g', '-I/usr/include/x86_64-linux-gnu', '-c', source, '-o', object]);
  const bpf = BpfObject.open(object);
  t.after(() => bpf.close());
  assert.throws(
    () => bpf.load(),
    (e: unknown) =>
      e instanceof BpfLoadError &&
      e.code === 'BPF_LOAD_FAILED' &&
      e.errno === 13 &&
      /the BPF verifier rejected a program/.test(e.message) &&
      /invalid mem access 'map_value_or_null'/.test(e.message) &&
      e.verifierLog !== undefined,
  );
});

test('tcpscope run without CAP_BPF/CAP_PERFMON says exactly what is needed and exits non-zero', (t) => {
  if (!requireKernel(t)) return;
  const dir = mkdtempSync(join(tmpdir(), 'tcpscope-nocap-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  chmodSync(dir, 0o755);
  // As nobody (setpriv from util-linux) with every capability dropped but CAP_DAC_READ_SEARCH: the
  // checkout may live under a directory only root can enter (a clone in `mktemp -d`, mode 0700),
  // and reading the agent's own files is not what is tested. Without CAP_BPF and CAP_PERFMON (or
  // CAP_SYS_ADMIN) the preflight must refuse.
  const run = spawnSync(
    'setpriv',
    [
      '--reuid=65534',
      '--regid=65534',
      '--clear-groups',
      '--inh-caps=-all,+dac_read_search',
      '--ambient-caps=+dac_read_search',
      '--bounding-set=-all,+dac_read_search',
      process.execPath,
      join(PACKAGE_ROOT, 'bin', 'tcpscope.js'),
      'run',
    ],
    { encoding: 'utf8', cwd: dir, timeout: 60_000 },
  );
  assert.equal(run.status, 1, run.stderr);
  assert.doesNotMatch(run.stderr, /Cannot find module/, 'the agent could read its own files');
  assert.match(run.stderr, /BPF_LOAD_FAILED: tcpscope needs CAP_BPF and CAP_PERFMON \(or CAP_SYS_ADMIN, or root\)/);
});
