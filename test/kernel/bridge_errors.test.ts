// What a person sees when the kernel says no: the verifier's reason, a missing capability.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BpfObject } from '../../src/bridge/bpf_object';
import { BpfLoadError } from '../../src/errors';
import { PACKAGE_ROOT } from '../../src/paths';
import { requireKernel } from '../support/kernel';

/** `entries` of `from` under `to`, hard-linked (copied if `to` is on another file system). */
function linkTree(from: string, to: string, entries: readonly string[]): void {
  mkdirSync(to, { mode: 0o755 });
  const sources = entries.map((e) => join(from, e)).filter((p) => existsSync(p));
  try {
    execFileSync('cp', ['-al', ...sources, to], { stdio: 'pipe' });
  } catch {
    // Start again: copying over half-made hard links would write into the originals.
    rmSync(to, { recursive: true, force: true });
    mkdirSync(to, { mode: 0o755 });
    execFileSync('cp', ['-a', ...sources, to], { stdio: 'pipe' });
  }
}

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
  // The checkout may live under a directory only root can enter (a clone in `mktemp -d`, mode 0700),
  // where nobody cannot even start the agent; and a capability that lets it read there would not
  // help `access(2)`, which checks without capabilities. So nobody runs a copy of the agent made of
  // hard links (a copy where they cannot be made) in a directory anyone may enter.
  const agent = join(dir, 'agent');
  linkTree(PACKAGE_ROOT, agent, ['package.json', 'bin', 'dist', 'node_modules', 'build', 'native', 'config']);
  // As nobody with every capability dropped (setpriv from util-linux): the preflight must refuse.
  const run = spawnSync(
    'setpriv',
    ['--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all', '--bounding-set=-all', process.execPath, join(agent, 'bin', 'tcpscope.js'), 'run'],
    { encoding: 'utf8', cwd: dir, timeout: 60_000 },
  );
  assert.equal(run.status, 1, run.stderr);
  assert.doesNotMatch(run.stderr, /Cannot find module/, 'the agent could read its own files');
  assert.match(run.stderr, /BPF_LOAD_FAILED: tcpscope needs CAP_BPF and CAP_PERFMON \(or CAP_SYS_ADMIN, or root\)/);
});

test('attach and programInfo before load are EINVAL errors naming the call', (t) => {
  if (!requireKernel(t)) return;
  const path = join(PACKAGE_ROOT, 'build', 'bpf', 'tcp_lifecycle.bpf.o');
  const bpf = BpfObject.open(path);
  t.after(() => bpf.close());
  const einval = (call: string) => (e: unknown) =>
    e instanceof BpfLoadError && e.code === 'BPF_LOAD_FAILED' && e.errno === 22 && e.message.endsWith(`${call} before load`);
  assert.throws(() => bpf.attach(), einval(`attaching programs of ${path}: attach`));
  assert.throws(() => bpf.programInfo(), einval(`reading program info of ${path}: program info`));
});
