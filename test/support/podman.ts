// podman for the container tests (test/deploy/): the image built from this checkout once per test
// process, containers named by uniqueName and removed on cleanup, and the agent's `podman run`
// flags kept in one place, mirroring what deploy/kubernetes's DaemonSet grants.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { PACKAGE_ROOT } from '../../src/paths';
import { isCi } from './kernel';
import { uniqueName } from './names';

/** podman on hybrid-cgroup hosts needs runc, cgroupfs and host-safe ulimits (see the file). */
export const CONTAINERS_CONF = join(PACKAGE_ROOT, 'deploy', 'podman', 'containers.conf');
export const SECCOMP_PROFILE = join(PACKAGE_ROOT, 'deploy', 'seccomp', 'tcpscope.json');
/**
 * The tag testImage() builds, one per test process: checkouts testing on one machine at once each
 * run the image of their own sources (a shared tag could be re-pointed by another build between
 * this build and a `podman run`). Untagged at exit; the layers stay in podman's cache.
 */
export const TEST_IMAGE = `localhost/tcpscope:test-${process.pid}`;

export function podmanEnv(): NodeJS.ProcessEnv {
  return { ...process.env, CONTAINERS_CONF };
}

/** Runs podman and returns its stdout, trimmed; throws with its stderr when it fails. */
export function podman(args: readonly string[], timeoutMs = 120_000): string {
  const result = spawnSync('podman', args, { env: podmanEnv(), encoding: 'utf8', timeout: timeoutMs });
  if (result.error) throw new Error(`podman ${args.join(' ')}: ${result.error.message}`);
  if (result.status !== 0) {
    throw new Error(`podman ${args.join(' ')} exited ${result.status}: ${result.stderr.trim()}`);
  }
  return result.stdout.trim();
}

/** Why container tests cannot run here, or undefined when they can. */
export function containerTestUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'container tests need root (rootful podman, CAP_BPF for the agent)';
  const probe = spawnSync('podman', ['--version'], { env: podmanEnv(), encoding: 'utf8' });
  if (probe.error || probe.status !== 0) return 'podman is not installed (scripts/setup.sh installs it)';
  if (!existsSync('/sys/kernel/btf/vmlinux')) return 'kernel has no BTF at /sys/kernel/btf/vmlinux';
  return undefined;
}

/** Like requireKernel: skips loudly outside CI, fails in CI. */
export function requireContainers(t: TestContext): boolean {
  const reason = containerTestUnavailable();
  if (!reason) return true;
  if (isCi(process.env.CI)) throw new Error(`container test cannot run in CI (CI=${process.env.CI}): ${reason}`);
  process.stderr.write(`\n*** SKIPPING container test "${t.name}": ${reason} ***\n\n`);
  t.skip(reason);
  return false;
}

let built: string | undefined;

/**
 * The image of this checkout, built by scripts/build-image.sh once per test process (podman's
 * layer cache makes a rebuild of unchanged sources take seconds; a first build from nothing,
 * debootstrap included, takes a few minutes).
 */
export function testImage(): string {
  if (built) return built;
  // The build's progress is kept and shown only when it fails (the test runner would print
  // every line of it as a TAP comment).
  const result = spawnSync(join(PACKAGE_ROOT, 'scripts', 'build-image.sh'), [TEST_IMAGE], {
    env: podmanEnv(),
    encoding: 'utf8',
    stdio: ['ignore', 'ignore', 'pipe'],
    timeout: 15 * 60_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.error || result.status !== 0) {
    throw new Error(`scripts/build-image.sh ${TEST_IMAGE} failed (${result.error?.message ?? `exit ${result.status}`}):\n${result.stderr.split('\n').slice(-40).join('\n')}`);
  }
  process.once('exit', () => {
    spawnSync('podman', ['untag', TEST_IMAGE], { env: podmanEnv(), stdio: 'ignore' });
  });
  built = TEST_IMAGE;
  return built;
}

/** A container name for this test, force-removed (with its anonymous volumes) on cleanup. */
export function containerName(t: TestContext, kind: string): string {
  const name = uniqueName(kind);
  t.after(() => {
    spawnSync('podman', ['rm', '--force', '--volumes', '--time', '0', name], { env: podmanEnv(), stdio: 'ignore' });
  });
  return name;
}

/** The host's cgroup2 mount point (/sys/fs/cgroup on v2-only hosts, /sys/fs/cgroup/unified on hybrid ones). */
export function hostCgroup2MountPoint(mountinfo: string): string {
  for (const line of mountinfo.split('\n')) {
    const [before, after] = line.split(' - ');
    if (after?.split(' ')[0] === 'cgroup2') {
      const fields = before.split(' ');
      // Only the host's own view: a root of "/" (not a bind of a sub-cgroup).
      if (fields[3] === '/') return fields[4];
    }
  }
  throw new Error('no cgroup2 mount of the hierarchy root in /proc/self/mountinfo');
}

/** Where the agent container sees the host's cgroup2 hierarchy (as in deploy/kubernetes). */
export const AGENT_HOST_CGROUP = '/host/sys/fs/cgroup';

export interface AgentContainerMounts {
  /** Bind tracefs read-only at /sys/kernel/tracing (the DaemonSet's `tracefs` volume). */
  readonly tracefs: boolean;
  /** Bind the host's cgroup2 mount point read-only at AGENT_HOST_CGROUP (`host-cgroup`). */
  readonly hostCgroup: string | undefined;
  /** `shipped`: deploy/seccomp/tcpscope.json; `default`: the runtime's default profile. */
  readonly seccomp: 'shipped' | 'default';
}

/**
 * The `podman run` flags the DaemonSet's pod spec amounts to: uid 0, every capability dropped
 * but BPF and PERFMON, no-new-privileges, read-only root, private cgroup namespace, no host PID
 * or network namespace, tracefs and the host cgroup2 hierarchy read-only.
 */
export function agentSecurityArgs(mounts: AgentContainerMounts): string[] {
  const args = [
    '--user', '0:0',
    '--cap-drop', 'ALL', '--cap-add', 'BPF,PERFMON',
    '--security-opt', 'no-new-privileges',
    '--read-only',
    '--cgroupns', 'private',
    '--pid', 'private',
  ];
  if (mounts.seccomp === 'shipped') args.push('--security-opt', `seccomp=${SECCOMP_PROFILE}`);
  if (mounts.tracefs) args.push('-v', '/sys/kernel/tracing:/sys/kernel/tracing:ro');
  if (mounts.hostCgroup) args.push('-v', `${mounts.hostCgroup}:${AGENT_HOST_CGROUP}:ro`);
  return args;
}


/**
 * The id of testImage(), read right after it is built: tests of other checkouts on the same machine
 * build the same tag, and an id keeps naming this checkout's image if they re-tag it meanwhile.
 */
export function testImageId(): string {
  return podman(['image', 'inspect', '--format', '{{.Id}}', testImage()]);
}
