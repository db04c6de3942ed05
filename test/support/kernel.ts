// Kernel tests need root and BTF. Elsewhere they skip with a loud reason; with CI=true they
// must run, so a missing requirement fails the run instead.
import { existsSync } from 'node:fs';
import type { TestContext } from 'node:test';

export function kernelTestUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'kernel tests need root (CAP_BPF, CAP_PERFMON, CAP_NET_ADMIN, cgroup writes)';
  if (!existsSync('/sys/kernel/btf/vmlinux')) return 'kernel has no BTF at /sys/kernel/btf/vmlinux';
  return undefined;
}

/** Returns true when the test may go on; skips (or fails under CI=true) otherwise. */
export function requireKernel(t: TestContext): boolean {
  const reason = kernelTestUnavailable();
  if (!reason) return true;
  if (process.env.CI === 'true') throw new Error(`kernel test cannot run in CI: ${reason}`);
  process.stderr.write(`\n*** SKIPPING kernel test "${t.name}": ${reason} ***\n\n`);
  t.skip(reason);
  return false;
}
