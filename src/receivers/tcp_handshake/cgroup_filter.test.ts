// The cgroup_prefix filter set follows the subtree: new cgroups in, removed ones out, and a full
// set says so once instead of silently ignoring new pods.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AgentLogger } from '../../logger';
import { CgroupSubtreeFilter, type FilterMap } from './cgroup_filter';

function recordingLogger(warnings: string[]): AgentLogger {
  const logger: AgentLogger = {
    debug: () => {},
    info: () => {},
    warn: (m: string) => warnings.push(m),
    error: () => {},
    child: () => logger,
  };
  return logger;
}

test('the filter map follows the subtree and warns once when it is full', (t) => {
  const root = mkdtempSync(join(tmpdir(), 'tcpscope-filter-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const prefix = join(root, 'kubepods');
  mkdirSync(join(prefix, 'pod-a'), { recursive: true });
  mkdirSync(join(prefix, 'pod-b'));
  mkdirSync(join(root, 'system')); // outside the prefix
  const ino = (p: string) => statSync(join(root, p), { bigint: true }).ino;
  const kernel = new Set<bigint>();
  const map: FilterMap = {
    updateMap: (name, key) => {
      assert.equal(name, 'filter');
      kernel.add(key.readBigUInt64LE(0));
    },
    deleteFromMap: (name, key) => kernel.delete(key.readBigUInt64LE(0)),
  };
  const warnings: string[] = [];
  const filter = new CgroupSubtreeFilter('filter', prefix, 4, recordingLogger(warnings), 'receivers.tcp_handshake.max_filter_cgroups');

  filter.sync(map);
  assert.deepEqual(kernel, new Set([ino('kubepods'), ino('kubepods/pod-a'), ino('kubepods/pod-b')]));

  // Churn: pod-a goes, pod-c comes; the set holds the subtree as it is now.
  mkdirSync(join(prefix, 'pod-c'));
  rmdirSync(join(prefix, 'pod-a'));
  filter.sync(map);
  assert.deepEqual(kernel, new Set([ino('kubepods'), ino('kubepods/pod-b'), ino('kubepods/pod-c')]));
  assert.deepEqual(warnings, []);

  // Full (capacity 4): one warning naming the key, however many refreshes follow.
  mkdirSync(join(prefix, 'pod-d'));
  mkdirSync(join(prefix, 'pod-e'));
  filter.sync(map);
  filter.sync(map);
  assert.equal(kernel.size, 4);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /5 cgroups under .*kubepods, but the kernel's cgroup filter holds 4: sockets of the 1 not in it make no events/);
  assert.match(warnings[0], /Raise receivers\.tcp_handshake\.max_filter_cgroups/);

  // A slot freed by a removed cgroup goes to the one left out.
  rmdirSync(join(prefix, 'pod-b'));
  filter.sync(map);
  assert.deepEqual(kernel, new Set([ino('kubepods'), ino('kubepods/pod-c'), ino('kubepods/pod-d'), ino('kubepods/pod-e')]));
});
