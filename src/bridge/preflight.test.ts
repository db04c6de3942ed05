import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BpfLoadError } from '../errors';
import { checkKernelRequirements, effectiveCapabilities, GRANTED_BY, permissionHint, probeBpf } from './preflight';

const CAP = (n: number) => 1n << BigInt(n);

test('reads effective capabilities from /proc/self/status', () => {
  assert.equal(effectiveCapabilities('Name:\tnode\nCapEff:\t000001ffffffffff\n'), 0x1ffffffffffn);
  assert.equal(effectiveCapabilities('Name:\tnode\n'), 0n);
});

test('a kernel without BTF is named with what is needed', () => {
  assert.throws(
    () => checkKernelRequirements('/nonexistent/btf/vmlinux', CAP(21)),
    (e: unknown) => e instanceof BpfLoadError && /kernel has no BTF at \/nonexistent\/btf\/vmlinux: .*CONFIG_DEBUG_INFO_BTF=y/.test(e.message),
  );
});

test('missing CAP_BPF/CAP_PERFMON says which capabilities are needed', () => {
  const btf = '/proc/self/status'; // any existing file stands in for the BTF blob here
  const refused = (caps: bigint) => () => checkKernelRequirements(btf, caps);
  assert.throws(refused(0n), /needs CAP_BPF and CAP_PERFMON \(or CAP_SYS_ADMIN, or root\)/);
  assert.throws(refused(CAP(39)), /needs CAP_BPF and CAP_PERFMON/, 'CAP_BPF alone is not enough');
  assert.throws(refused(0n), (e: unknown) => e instanceof BpfLoadError && e.message.includes('this process lacks CAP_BPF and CAP_PERFMON (uid 0 in a container'));
  assert.throws(refused(CAP(39)), (e: unknown) => e instanceof BpfLoadError && e.message.includes('this process lacks CAP_PERFMON ('));
  assert.throws(refused(CAP(38)), (e: unknown) => e instanceof BpfLoadError && e.message.includes('this process lacks CAP_BPF ('));
  assert.doesNotThrow(refused(CAP(39) | CAP(38)));
  assert.doesNotThrow(refused(CAP(21)));
});

test('an EPERM from bpf() is explained by what the process holds and whether seccomp filters it', () => {
  const status = (capEff: bigint, seccomp: number) => `Name:\tnode\nCapEff:\t${capEff.toString(16).padStart(16, '0')}\nSeccomp:\t${seccomp}\n`;
  assert.equal(permissionHint(status(CAP(39), 0)), 'needs CAP_BPF and CAP_PERFMON, or root');
  assert.match(permissionHint(status(CAP(39) | CAP(38), 2)), /under a seccomp filter: .*only with CAP_SYS_ADMIN; run with the shipped profile \(DaemonSet: securityContext\.seccompProfile \{type: Localhost, localhostProfile: tcpscope\.json\}/);
  assert.match(permissionHint(status(CAP(21), 2)), /under a seccomp filter/);
  assert.match(permissionHint(status(CAP(39) | CAP(38), 0)), /unprivileged_bpf_disabled, kernel lockdown/);
});

test('the fixes name the DaemonSet field that grants each requirement', () => {
  assert.equal(GRANTED_BY.capabilities, 'DaemonSet: securityContext.capabilities add [BPF, PERFMON] (with drop [ALL]); podman/docker: --cap-add BPF,PERFMON');
  assert.equal(
    GRANTED_BY.tracefs,
    'DaemonSet: volume `tracefs`, hostPath /sys/kernel/tracing, mounted read-only at /sys/kernel/tracing; podman/docker: -v /sys/kernel/tracing:/sys/kernel/tracing:ro',
  );
  assert.match(GRANTED_BY.seccomp, /^DaemonSet: securityContext\.seccompProfile \{type: Localhost, localhostProfile: tcpscope\.json\}, with .* \/var\/lib\/kubelet\/seccomp\/tcpscope\.json \(Helm chart: seccomp\.mode localhost\); podman\/docker: --security-opt seccomp=deploy\/seccomp\/tcpscope\.json$/);
  const caps = (() => {
    try {
      checkKernelRequirements('/proc/self/status', 0n);
    } catch (error) {
      return (error as Error).message;
    }
    return '';
  })();
  assert.ok(caps.includes(`In a container, grant them: ${GRANTED_BY.capabilities}. On a host,`), caps);
  const status = `Name:\tnode\nCapEff:\t${(CAP(39) | CAP(38)).toString(16).padStart(16, '0')}\nSeccomp:\t2\n`;
  assert.ok(permissionHint(status).endsWith(`run with the shipped profile (${GRANTED_BY.seccomp}), or keep the runtime's default profile (seccompProfile RuntimeDefault) and add SYS_ADMIN to securityContext.capabilities (Helm chart: seccomp.mode runtimeDefault)`));
});

/** What the addon throws: an Error with code BPF_ERROR and the errno. */
function nativeError(errno: number, message: string): Error {
  return Object.assign(new Error(message), { code: 'BPF_ERROR', errno, libbpfLog: '' });
}

test('probeBpf: an EPERM under seccomp with CAP_BPF + CAP_PERFMON held becomes the seccomp hint; other failures keep their errno', () => {
  const held = `Name:\tnode\nCapEff:\t${(CAP(39) | CAP(38)).toString(16).padStart(16, '0')}\nSeccomp:\t2\n`;
  const refusing = (errno: number, text: string) => ({
    probeBpf: () => {
      throw nativeError(errno, `bpf(BPF_MAP_CREATE) failed: ${text}`);
    },
  });
  assert.doesNotThrow(() => probeBpf({ probeBpf: () => undefined }, () => held));
  assert.throws(
    () => probeBpf(refusing(1, 'Operation not permitted'), () => held),
    (e: unknown) =>
      e instanceof BpfLoadError &&
      e.errno === 1 &&
      e.message === `bpf() failed at start-up (creating a one-entry array map): bpf(BPF_MAP_CREATE) failed: Operation not permitted (${permissionHint(held)})`,
  );
  assert.throws(
    () => probeBpf(refusing(22, 'Invalid argument'), () => held),
    (e: unknown) => e instanceof BpfLoadError && e.errno === 22 && e.message.endsWith('Invalid argument (the eBPF programs cannot be loaded either)'),
  );
  const bug = new TypeError('not the addon');
  assert.throws(() => probeBpf({ probeBpf: () => { throw bug; } }, () => held), (e: unknown) => e === bug);
});
