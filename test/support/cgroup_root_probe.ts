// Run inside a cgroup namespace by test/kernel/host_cgroup_namespace.test.ts: does what the agent
// does at start-up (locateHostCgroupRoot) and resolves cgroup ids with a CgroupResolver on the
// root it got. Prints one JSON line; args: <configured cgroup_root or ''> <cgroup id>...
import { CgroupResolver } from '../../src/host/cgroup_resolver';
import { HostCgroupError, locateHostCgroupRoot } from '../../src/host/host_cgroup_root';

const [configured, ...ids] = process.argv.slice(2);
try {
  const located = locateHostCgroupRoot(configured || undefined);
  const resolver = new CgroupResolver(located.root);
  const paths = Object.fromEntries(ids.map((id) => [id, resolver.resolve(BigInt(id)) ?? null]));
  process.stdout.write(`${JSON.stringify({ root: located.root ?? null, paths })}\n`);
} catch (error) {
  if (!(error instanceof HostCgroupError)) throw error;
  process.stdout.write(`${JSON.stringify({ error: { code: error.code, message: error.message } })}\n`);
}
