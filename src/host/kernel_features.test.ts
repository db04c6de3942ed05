// The feature probes against the BTF of real kernels: the running one, and every Debian kernel the
// kernel matrix (scripts/kernel-matrix.sh) cached, whose BTF is extracted here from its vmlinuz.
// Each probe must agree with the mainline version that brought the feature (KERNEL_FEATURES.since):
// the versions the start-up lines and docs/kernel-features.md state.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { KernelBtf } from './kernel_btf';
import {
  applyKernelFeatures,
  featuresOff,
  KERNEL_FEATURE_IDS,
  KERNEL_FEATURES,
  KernelFeatures,
  missingFeatureLine,
  RECEIVER_FEATURES,
  type FeatureSwitches,
  type KernelFeatureId,
} from './kernel_features';
import { BpfLoadError } from '../errors';

/** The kernel matrix's cache (scripts/kernel-matrix.sh): kernels/<package>_<version>/boot/vmlinuz-*. */
const CACHE = process.env.TCPSCOPE_KERNEL_CACHE ?? join(homedir(), '.cache', 'tcpscope-kernels');

/** "5.10.0-43-cloud-amd64" → [5, 10]. */
function mainline(release: string): [number, number] {
  const m = /^(\d+)\.(\d+)/.exec(release);
  if (!m) throw new Error(`not a kernel release: ${release}`);
  return [Number(m[1]), Number(m[2])];
}

function atLeast(release: string, since: string): boolean {
  const [major, minor] = mainline(release);
  const [sMajor, sMinor] = mainline(since);
  return major > sMajor || (major === sMajor && minor >= sMinor);
}

/** Compressed-kernel magics (scripts/extract-vmlinux's list, those Debian uses) and their decompressors. */
const COMPRESSIONS: { magic: Buffer; argv: string[] }[] = [
  { magic: Buffer.from([0x02, 0x21, 0x4c, 0x18]), argv: ['lz4', '-dc'] },
  { magic: Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), argv: ['zstd', '-dc'] },
  { magic: Buffer.from([0x1f, 0x8b, 0x08, 0x00]), argv: ['gzip', '-dc'] },
  { magic: Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]), argv: ['xz', '-dc'] },
];

/** The .BTF section of a bzImage's vmlinux, as scripts/extract-vmlinux then objcopy would give it. */
function extractBtf(vmlinuz: string, out: string): void {
  const image = readFileSync(vmlinuz);
  const vmlinux = join(tmpdir(), `tcpscope-vmlinux-${process.pid}`);
  try {
    for (const { magic, argv } of COMPRESSIONS) {
      for (let at = image.indexOf(magic); at >= 0; at = image.indexOf(magic, at + 1)) {
        let elf: Buffer;
        try {
          // Trailing garbage after the stream makes the decompressors complain: keep what they wrote.
          elf = execFileSync(argv[0], argv.slice(1), { input: image.subarray(at), maxBuffer: 1 << 30, stdio: ['pipe', 'pipe', 'ignore'] });
        } catch (error) {
          elf = (error as { stdout?: Buffer }).stdout ?? Buffer.alloc(0);
        }
        if (elf.subarray(0, 4).toString('latin1') !== '\x7fELF') continue;
        execFileSync('sh', ['-c', 'cat > "$1"', 'sh', vmlinux], { input: elf, maxBuffer: 1 << 30 });
        execFileSync('objcopy', ['-O', 'binary', '--only-section=.BTF', vmlinux, `${out}.tmp`]);
        renameSync(`${out}.tmp`, out);
        return;
      }
    }
    throw new Error(`${vmlinuz}: no compressed vmlinux found (lz4, zstd, gzip, xz)`);
  } finally {
    rmSync(vmlinux, { force: true });
  }
}

/** Every cached kernel's release and BTF file (extracted once into the cache's btf/ directory). */
function cachedKernelBtf(): { release: string; btf: string }[] {
  const kernels = join(CACHE, 'kernels');
  if (!existsSync(kernels)) return [];
  const found: { release: string; btf: string }[] = [];
  for (const dir of readdirSync(kernels)) {
    const boot = join(kernels, dir, 'boot');
    if (!existsSync(boot)) continue;
    for (const name of readdirSync(boot).filter((n) => n.startsWith('vmlinuz-'))) {
      const release = name.slice('vmlinuz-'.length);
      const btf = join(CACHE, 'btf', `${release}.btf`);
      if (!existsSync(btf)) {
        mkdirSync(join(CACHE, 'btf'), { recursive: true });
        extractBtf(join(boot, name), btf);
      }
      found.push({ release, btf });
    }
  }
  return found;
}

test('every probe on every cached Debian kernel agrees with the mainline version of its feature', (t) => {
  const kernels = cachedKernelBtf();
  if (kernels.length === 0) {
    t.skip(`NO CACHED KERNELS in ${CACHE}/kernels: run scripts/kernel-matrix.sh (or set TCPSCOPE_KERNEL_CACHE) to fetch them; only the running kernel was checked`);
    return;
  }
  for (const { release, btf } of kernels) {
    const features = KernelBtf.read(btf, (parsed) => KernelFeatures.probe(parsed!, btf));
    for (const id of KERNEL_FEATURE_IDS) {
      assert.equal(features.has(id), atLeast(release, KERNEL_FEATURES[id].since), `${release}: ${id} (since ${KERNEL_FEATURES[id].since})`);
    }
    t.diagnostic(`${release}: lacks ${features.missing().join(', ') || 'nothing'}`);
  }
});

test('the running kernel: every probe agrees with its version', (t) => {
  const btf = KernelBtf.load();
  if (!btf) return t.skip('no kernel BTF');
  const release = execFileSync('uname', ['-r'], { encoding: 'utf8' }).trim();
  const features = KernelFeatures.probe(btf, 'running');
  for (const id of KERNEL_FEATURE_IDS) assert.equal(features.has(id), atLeast(release, KERNEL_FEATURES[id].since), `${release}: ${id}`);
});

class RecordedSwitches implements FeatureSwitches {
  readonly globals = new Map<string, number>();
  readonly autoload = new Map<string, boolean>();
  readonly maxEntries = new Map<string, number>();
  setGlobalU32(name: string, value: number): void {
    this.globals.set(name, value);
  }
  setAutoload(program: string, enabled: boolean): void {
    this.autoload.set(program, enabled);
  }
  setMaxEntries(map: string, entries: number): void {
    this.maxEntries.set(map, entries);
  }
}

const without = (...missing: KernelFeatureId[]) => new KernelFeatures(new Set(KERNEL_FEATURE_IDS.filter((id) => !missing.includes(id))), 'test');

test('a kernel with everything: no line, nothing switched off, stand-in maps at one entry', () => {
  for (const receiver of Object.keys(RECEIVER_FEATURES) as (keyof typeof RECEIVER_FEATURES)[]) {
    const bpf = new RecordedSwitches();
    assert.deepEqual(applyKernelFeatures(receiver, bpf, without(), 4096), [], receiver);
    assert.equal(bpf.globals.size, 0, receiver);
    assert.equal(bpf.autoload.size, 0, receiver);
    assert.ok([...bpf.maxEntries.values()].every((n) => n === 1), receiver);
  }
});

test('5.10 (what Debian 11 lacks): one line per missing feature, its switches and programs set', () => {
  const debian11 = without('socket_storage', 'socket_cookie', 'inet_sk_error_report', 'tcp_send_reset_record', 'kfree_skb_reason');
  const handshake = new RecordedSwitches();
  const lines = applyKernelFeatures('tcp_handshake', handshake, debian11, 4096);
  assert.deepEqual(lines, [
    missingFeatureLine('inet_sk_error_report', RECEIVER_FEATURES.tcp_handshake.optional.inet_sk_error_report!.loss),
    missingFeatureLine('socket_cookie', RECEIVER_FEATURES.tcp_handshake.optional.socket_cookie!.loss),
  ]);
  assert.match(lines[0], /^no tracepoint sock:inet_sk_error_report \(kernel < 5\.14\): .*ECONNABORTED/);
  assert.deepEqual([...handshake.autoload], [['tcp_handshake_error_report', false]]);
  // Its pending connects are in a hash on every kernel: no socket storage switch, no stand-in map.
  assert.deepEqual([...handshake.globals], [['cfg_socket_cookie', 0]]);
  assert.deepEqual([...handshake.maxEntries], []);

  const anomalies = new RecordedSwitches();
  const anomalyLines = applyKernelFeatures('tcp_anomalies', anomalies, debian11, 65536);
  assert.equal(anomalyLines.length, 2);
  assert.match(anomalyLines[1], /^no tcp:tcp_send_reset's record with addresses and reason \(kernel < 6\.10\): resets sent without a socket/);
  assert.deepEqual(Object.fromEntries(anomalies.autoload), { tcp_anomalies_send_reset_socket: true, tcp_anomalies_send_reset: false });

  const rtt = new RecordedSwitches();
  assert.equal(applyKernelFeatures('tcp_rtt', rtt, debian11, 100).length, 1);
  assert.equal(rtt.globals.get('cfg_socket_storage'), 0);

  // tcp_lifecycle follows its sockets in a hash on every kernel: nothing to say, nothing to switch.
  const lifecycle = new RecordedSwitches();
  assert.deepEqual(applyKernelFeatures('tcp_lifecycle', lifecycle, debian11, 100), []);
  assert.equal(lifecycle.globals.size, 0);
});

test('a receiver whose required tracepoint is missing is refused with what it lacks', () => {
  assert.throws(
    () => applyKernelFeatures('tcp_rtt', new RecordedSwitches(), without('tcp_probe'), 1),
    (error: unknown) => error instanceof BpfLoadError && /tcp_rtt cannot run on this kernel: it lacks tracepoint tcp:tcp_probe \(Linux 4\.16\)/.test(error.message),
  );
  assert.throws(() => applyKernelFeatures('tcp_lifecycle', new RecordedSwitches(), without('ring_buffer'), 1), /BPF ring buffers \(Linux 5\.8\)/);
});

test('a missing tcp_send_reset unloads both reset programs (the unload wins)', () => {
  const bpf = new RecordedSwitches();
  applyKernelFeatures('tcp_anomalies', bpf, without('tcp_send_reset', 'tcp_send_reset_record'), 1);
  assert.deepEqual(Object.fromEntries(bpf.autoload), { tcp_anomalies_send_reset: false, tcp_anomalies_send_reset_socket: false });
});

test('features turned off by the environment: known ids only', () => {
  assert.deepEqual(featuresOff(' socket_storage, inet_sk_error_report '), ['socket_storage', 'inet_sk_error_report']);
  assert.deepEqual(featuresOff(undefined), []);
  assert.throws(() => featuresOff('socket_storag'), /unknown kernel feature "socket_storag"/);
});

test('a feature the config does not use is switched off without a line', () => {
  const bpf = new RecordedSwitches();
  assert.deepEqual(applyKernelFeatures('tcp_rtt', bpf, without('socket_storage'), 100, ['socket_storage']), []);
  assert.equal(bpf.globals.get('cfg_socket_storage'), 0);
  assert.equal(bpf.maxEntries.get('tcp_rtt_sockets_by_address'), 200);
});

test('the BTF queries the probes use: structs, members (also inside anonymous unions), functions', (t) => {
  const btf = KernelBtf.load();
  if (!btf) return t.skip('no kernel BTF');
  assert.equal(btf.hasStruct('sock'), true);
  assert.equal(btf.hasStruct('no_such_struct_here'), false);
  assert.equal(btf.hasMember('sock', 'sk_cgrp_data'), true);
  // skc_daddr sits in an anonymous union (of an anonymous struct) of struct sock_common
  assert.equal(btf.hasMember('sock_common', 'skc_daddr'), true);
  assert.equal(btf.hasMember('sock', 'no_such_member'), false);
  assert.equal(btf.hasMember('no_such_struct_here', 'x'), false);
  assert.equal(btf.hasFunction('tcp_v4_connect'), true);
  assert.equal(btf.hasFunction('no_such_function_here'), false);
});
