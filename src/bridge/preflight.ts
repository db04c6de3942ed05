// Checks made before touching the kernel, so that a missing requirement produces a message
// that says exactly what is needed instead of a bare EPERM from bpf(2).
import { existsSync, readFileSync, statSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { BpfLoadError } from '../errors';
import { isNativeError, nativeAddon, type NativeAddon } from './native';

export const VMLINUX_BTF = '/sys/kernel/btf/vmlinux';
const CAP_PERFMON = 38n;
const CAP_BPF = 39n;
const CAP_SYS_ADMIN = 21n;

export function effectiveCapabilities(status = readFileSync('/proc/self/status', 'utf8')): bigint {
  const line = status.split('\n').find((l) => l.startsWith('CapEff:'));
  return line ? BigInt('0x' + line.slice('CapEff:'.length).trim()) : 0n;
}

const has = (caps: bigint, cap: bigint) => (caps & (1n << cap)) !== 0n;

/**
 * Where deploy/kubernetes's DaemonSet (and the equivalent `podman run` flags) grants each start-up
 * requirement: start-up errors name the field to fix, not only what is missing.
 */
export const GRANTED_BY = {
  capabilities:
    'DaemonSet: securityContext.capabilities add [BPF, PERFMON] (with drop [ALL]); podman/docker: --cap-add BPF,PERFMON',
  tracefs:
    'DaemonSet: volume `tracefs`, hostPath /sys/kernel/tracing, mounted read-only at /sys/kernel/tracing; ' +
    'podman/docker: -v /sys/kernel/tracing:/sys/kernel/tracing:ro',
  seccomp:
    'DaemonSet: securityContext.seccompProfile {type: Localhost, localhostProfile: tcpscope.json}, with deploy/seccomp/tcpscope.json ' +
    'installed on every node as /var/lib/kubelet/seccomp/tcpscope.json (Helm chart: seccomp.mode localhost); ' +
    'podman/docker: --security-opt seccomp=deploy/seccomp/tcpscope.json',
} as const;

const capabilityName = (cap: bigint) => (cap === CAP_BPF ? 'CAP_BPF' : 'CAP_PERFMON');

/** Throws BpfLoadError naming what is missing: BTF, or CAP_BPF + CAP_PERFMON. */
export function checkKernelRequirements(btfPath = VMLINUX_BTF, caps = effectiveCapabilities()): void {
  if (!existsSync(btfPath)) {
    throw new BpfLoadError(
      2,
      `kernel has no BTF at ${btfPath}: tcpscope needs a kernel built with CONFIG_DEBUG_INFO_BTF=y and Linux 5.10 or later (Debian 11 and later have both; see docs/kernel-features.md)`,
    );
  }
  const privileged = has(caps, CAP_SYS_ADMIN) || (has(caps, CAP_BPF) && has(caps, CAP_PERFMON));
  if (!privileged) {
    const missing = [CAP_BPF, CAP_PERFMON].filter((cap) => !has(caps, cap)).map(capabilityName);
    throw new BpfLoadError(
      1,
      `tcpscope needs CAP_BPF and CAP_PERFMON (or CAP_SYS_ADMIN, or root) to load its eBPF programs, and this process lacks ${missing.join(' and ')} ` +
        '(uid 0 in a container holds only the capabilities the runtime grants). In a container, grant them: ' +
        `${GRANTED_BY.capabilities}. On a host, run as root, or as a non-root user grant them with CAP_DAC_READ_SEARCH, which reading tracefs needs: ` +
        '`setcap cap_bpf,cap_perfmon,cap_dac_read_search+ep $(readlink -f $(which node))`',
    );
  }
}

/**
 * What to say when bpf(2) answers EPERM. With the capabilities missing, that they are. With them
 * held, the usual culprit is a container's seccomp filter: runtimes' default profiles allow bpf()
 * and perf_event_open() only to CAP_SYS_ADMIN holders, whatever CAP_BPF / CAP_PERFMON say.
 */
export function permissionHint(status = readFileSync('/proc/self/status', 'utf8')): string {
  const caps = effectiveCapabilities(status);
  const privileged = has(caps, CAP_SYS_ADMIN) || (has(caps, CAP_BPF) && has(caps, CAP_PERFMON));
  if (!privileged) return 'needs CAP_BPF and CAP_PERFMON, or root';
  const seccomp = /^Seccomp:\s*2\s*$/m.test(status);
  if (seccomp) {
    return (
      'refused although CAP_BPF and CAP_PERFMON are held, under a seccomp filter: a container runtime\'s default profile allows ' +
      `bpf() and perf_event_open() only with CAP_SYS_ADMIN; run with the shipped profile (${GRANTED_BY.seccomp}), ` +
      'or keep the runtime\'s default profile (seccompProfile RuntimeDefault) and add SYS_ADMIN to securityContext.capabilities ' +
      '(Helm chart: seccomp.mode runtimeDefault)'
    );
  }
  return 'refused although CAP_BPF and CAP_PERFMON are held: check kernel.unprivileged_bpf_disabled, kernel lockdown and any LSM policy';
}

const TRACEFS_CANDIDATES = ['/sys/kernel/tracing', '/sys/kernel/debug/tracing'];
const CAP_DAC_READ_SEARCH = 2n;
const CAP_DAC_OVERRIDE = 1n;

/** Where tracefs is mounted, from mountinfo (field 5 the mount point, the type after " - "). */
export function tracefsMountPoints(mountinfo: string): string[] {
  const points: string[] = [];
  for (const line of mountinfo.split('\n')) {
    const [before, after] = line.split(' - ');
    if (!after || after.split(' ')[0] !== 'tracefs') continue;
    const mountPoint = before.split(' ')[4];
    // mountinfo escapes spaces and the like as octal (\040).
    if (mountPoint) points.push(mountPoint.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))));
  }
  return points;
}

export interface TracefsProbe {
  readonly mountinfo: () => string;
  /** Throws like fs.statSync: with the process's effective credentials and capabilities. */
  readonly stat: (path: string) => void;
  readonly mount: (dir: string) => void;
  readonly caps: () => bigint;
  readonly uid: () => number;
}

const systemTracefsProbe: TracefsProbe = {
  mountinfo: () => readFileSync('/proc/self/mountinfo', 'utf8'),
  stat: (path) => void statSync(path),
  mount: (dir) => void execFileSync('mount', ['-t', 'tracefs', 'nodev', dir], { stdio: 'ignore' }),
  caps: () => effectiveCapabilities(),
  uid: () => process.geteuid?.() ?? 0,
};

/**
 * Classic tracepoints (syscalls:*) are attached through tracefs: libbpf reads the event's id from
 * <tracefs>/events/<category>/<name>/id. Finds tracefs from mountinfo (existsSync cannot tell "not
 * mounted" from "not allowed to look": it uses access(2), which checks the real uid and ignores
 * capabilities), mounts it when it is missing and we may, and checks that this process can read
 * it: tracefs is mode 0700 root, so a non-root agent with CAP_BPF + CAP_PERFMON also needs
 * CAP_DAC_READ_SEARCH (or CAP_DAC_OVERRIDE) to get in.
 */
export function ensureTracefs(probe: TracefsProbe = systemTracefsProbe): string {
  const mounted = () => {
    const points = tracefsMountPoints(probe.mountinfo());
    return TRACEFS_CANDIDATES.find((dir) => points.includes(dir)) ?? points[0];
  };
  let dir = mounted();
  if (dir === undefined) {
    try {
      probe.mount(TRACEFS_CANDIDATES[0]);
    } catch {
      // reported below
    }
    dir = mounted();
  }
  if (dir === undefined) {
    throw new BpfLoadError(
      2,
      `tracefs is not mounted and could not be mounted at ${TRACEFS_CANDIDATES[0]} (mounting needs CAP_SYS_ADMIN, which a container lacks): ` +
        'the syscalls:* tracepoints are attached through it. In a container, mount the host\'s tracefs read-only: ' +
        `${GRANTED_BY.tracefs}. On a host, run \`mount -t tracefs nodev ${TRACEFS_CANDIDATES[0]}\``,
    );
  }
  try {
    probe.stat(`${dir}/events`);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EACCES' && code !== 'EPERM') {
      throw new BpfLoadError(2, `tracefs is mounted at ${dir} but ${dir}/events cannot be read (${code ?? String(error)})`);
    }
    const caps = probe.caps();
    const dac = has(caps, CAP_DAC_READ_SEARCH) || has(caps, CAP_DAC_OVERRIDE);
    throw new BpfLoadError(
      13,
      `tracefs is mounted at ${dir} but uid ${probe.uid()} may not read it (it is mode 0700 root${dac ? '' : ', and this process lacks CAP_DAC_READ_SEARCH'}): ` +
        'the syscalls:* tracepoints are attached through it. Run as root, or as a non-root user grant CAP_DAC_READ_SEARCH ' +
        'besides CAP_BPF and CAP_PERFMON (e.g. `setcap cap_bpf,cap_perfmon,cap_dac_read_search+ep $(readlink -f $(which node))`, ' +
        'or in Kubernetes, with a non-zero securityContext.runAsUser, add DAC_READ_SEARCH to securityContext.capabilities)',
    );
  }
  return dir;
}

const ERRNO_EPERM = 1;

/**
 * One cheap bpf() call (a one-entry array map, created and closed) before anything heavy: under a
 * runtime's default seccomp profile bpf() answers EPERM whatever the capabilities, and finding that
 * out here takes a millisecond instead of a pipeline's start-up (exporters, the Kubernetes client).
 */
export function probeBpf(
  addon: Pick<NativeAddon, 'probeBpf'> = nativeAddon(),
  status: () => string = () => readFileSync('/proc/self/status', 'utf8'),
): void {
  try {
    addon.probeBpf();
  } catch (error) {
    if (!isNativeError(error)) throw error;
    const hint = error.errno === ERRNO_EPERM ? permissionHint(status()) : 'the eBPF programs cannot be loaded either';
    throw new BpfLoadError(error.errno, `bpf() failed at start-up (creating a one-entry array map): ${error.message} (${hint})`);
  }
}

/**
 * What `tcpscope run` checks right after its config is valid and before it builds anything, in
 * the order a container misses them: BTF and capabilities, tracefs, then bpf() itself (seccomp).
 * Each failure names the missing piece and the DaemonSet field that grants it (GRANTED_BY).
 */
export function checkBeforeStart(): void {
  checkKernelRequirements();
  ensureTracefs();
  probeBpf();
}
