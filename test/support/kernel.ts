// Kernel tests need root and BTF. Elsewhere they skip with a loud reason; in CI they must run, so
// a missing requirement fails the run instead.
import { existsSync } from 'node:fs';
import type { TestContext } from 'node:test';

export function kernelTestUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'kernel tests need root (CAP_BPF, CAP_PERFMON, CAP_NET_ADMIN, cgroup writes)';
  if (!existsSync('/sys/kernel/btf/vmlinux')) return 'kernel has no BTF at /sys/kernel/btf/vmlinux';
  return undefined;
}

/**
 * Whether `CI` says "this is CI", the way CI systems set it: any value but unset, empty, `0` or
 * `false` (any case, surrounding blanks ignored). CI=true, CI=1, CI=yes and CI=on all mean CI.
 */
export function isCi(value: string | undefined): boolean {
  if (value === undefined) return false;
  const v = value.trim().toLowerCase();
  return v !== '' && v !== '0' && v !== 'false' && v !== 'no' && v !== 'off';
}

/** Returns true when the test may go on; skips (or fails in CI, see isCi) otherwise. */
export function requireKernel(t: TestContext): boolean {
  const reason = kernelTestUnavailable();
  if (!reason) return true;
  if (isCi(process.env.CI)) throw new Error(`kernel test cannot run in CI (CI=${process.env.CI}): ${reason}`);
  process.stderr.write(`\n*** SKIPPING kernel test "${t.name}": ${reason} ***\n\n`);
  t.skip(reason);
  return false;
}
