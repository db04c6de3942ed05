// Checks made before touching the kernel, so that a missing requirement produces a message
// that says exactly what is needed instead of a bare EPERM from bpf(2).
import { existsSync, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { BpfLoadError } from '../errors';

export const VMLINUX_BTF = '/sys/kernel/btf/vmlinux';
const CAP_PERFMON = 38n;
const CAP_BPF = 39n;
const CAP_SYS_ADMIN = 21n;

export function effectiveCapabilities(status = readFileSync('/proc/self/status', 'utf8')): bigint {
  const line = status.split('\n').find((l) => l.startsWith('CapEff:'));
  return line ? BigInt('0x' + line.slice('CapEff:'.length).trim()) : 0n;
}

const has = (caps: bigint, cap: bigint) => (caps & (1n << cap)) !== 0n;

/** Throws BpfLoadError naming what is missing: BTF, or CAP_BPF + CAP_PERFMON. */
export function checkKernelRequirements(btfPath = VMLINUX_BTF, caps = effectiveCapabilities()): void {
  if (!existsSync(btfPath)) {
    throw new BpfLoadError(
      2,
      `kernel has no BTF at ${btfPath}: tcpscope needs a kernel built with CONFIG_DEBUG_INFO_BTF=y (most distribution kernels since 5.4 are)`,
    );
  }
  const privileged = has(caps, CAP_SYS_ADMIN) || (has(caps, CAP_BPF) && has(caps, CAP_PERFMON));
  if (!privileged) {
    throw new BpfLoadError(
      1,
      'tcpscope needs CAP_BPF and CAP_PERFMON (or CAP_SYS_ADMIN, or root) to load its eBPF programs; ' +
        'run it as root or grant them, e.g. `setcap cap_bpf,cap_perfmon+ep $(which node)`, or in Kubernetes add them to securityContext.capabilities',
    );
  }
}

const TRACEFS_CANDIDATES = ['/sys/kernel/tracing', '/sys/kernel/debug/tracing'];

/** Classic tracepoints (syscalls:*) are found through tracefs; mount it if it is not. */
export function ensureTracefs(): void {
  if (TRACEFS_CANDIDATES.some((dir) => existsSync(`${dir}/events`))) return;
  try {
    execFileSync('mount', ['-t', 'tracefs', 'nodev', TRACEFS_CANDIDATES[0]], { stdio: 'ignore' });
  } catch {
    // reported below
  }
  if (!existsSync(`${TRACEFS_CANDIDATES[0]}/events`)) {
    throw new BpfLoadError(
      2,
      `tracefs is not mounted and could not be mounted at ${TRACEFS_CANDIDATES[0]}: run \`mount -t tracefs nodev ${TRACEFS_CANDIDATES[0]}\` ` +
        '(in Kubernetes, mount the host path /sys/kernel/tracing into the pod)',
    );
  }
}
