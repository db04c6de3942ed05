// Where an end-to-end test's own processes run: a fresh test cgroup, so that assertions count only
// their sockets, and the list of processes to kill when the test ends (also on failure).
import type { TestContext } from 'node:test';
import { TestCgroup, testCgroupBase } from './cgroup';
import type { RunningChild } from './child';

export interface Workload {
  /** `<testCgroupBase(kind)>/<leaf>`. */
  readonly cgroup: TestCgroup;
  /** Killed on cleanup, before the cgroup is removed. */
  readonly children: RunningChild[];
}

export function workloadCgroup(t: TestContext, kind: string, leaf = 'app'): Workload {
  const base = testCgroupBase(kind);
  const cgroup = TestCgroup.create(`${base}/${leaf}`);
  const children: RunningChild[] = [];
  t.after(() => {
    for (const c of children) c.kill();
    cgroup.remove(base);
  });
  return { cgroup, children };
}
