import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BpfLoadError } from '../errors';
import { checkKernelRequirements, effectiveCapabilities, permissionHint } from './preflight';

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
  assert.doesNotThrow(refused(CAP(39) | CAP(38)));
  assert.doesNotThrow(refused(CAP(21)));
});

test('an EPERM from bpf() is explained by what the process holds and whether seccomp filters it', () => {
  const status = (capEff: bigint, seccomp: number) => `Name:\tnode\nCapEff:\t${capEff.toString(16).padStart(16, '0')}\nSeccomp:\t${seccomp}\n`;
  assert.equal(permissionHint(status(CAP(39), 0)), 'needs CAP_BPF and CAP_PERFMON, or root');
  assert.match(permissionHint(status(CAP(39) | CAP(38), 2)), /under a seccomp filter: .*only with CAP_SYS_ADMIN; run with deploy\/seccomp\/tcpscope\.json \(Kubernetes: securityContext\.seccompProfile type Localhost\)/);
  assert.match(permissionHint(status(CAP(21), 2)), /under a seccomp filter/);
  assert.match(permissionHint(status(CAP(39) | CAP(38), 0)), /unprivileged_bpf_disabled, kernel lockdown/);
});
