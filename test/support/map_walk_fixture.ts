// test/fixtures/bpf/map_walk.bpf.c compiled into a temporary directory and loaded (not attached).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BpfObject } from '../../src/bridge/bpf_object';
import { PACKAGE_ROOT } from '../../src/paths';

export function loadMapWalkFixture(t: { after: (fn: () => void) => void }): BpfObject {
  const dir = mkdtempSync(join(tmpdir(), 'tcpscope-mapwalk-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const object = join(dir, 'map_walk.bpf.o');
  const source = join(PACKAGE_ROOT, 'test', 'fixtures', 'bpf', 'map_walk.bpf.c');
  execFileSync('clang', ['-target', 'bpf', '-O2', '-g', '-I/usr/include/x86_64-linux-gnu', '-c', source, '-o', object]);
  const bpf = BpfObject.open(object);
  t.after(() => bpf.close());
  bpf.load();
  return bpf;
}
