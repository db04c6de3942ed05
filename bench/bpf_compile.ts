// Compiles a benchmark's own BPF variant (bench/bpf/*.bpf.c, or any file a bench is given) as
// bpf/Makefile compiles the receivers' programs: CO-RE against the build's vmlinux.h, with bpf/'s
// headers on the include path.
import { execFileSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { PACKAGE_ROOT } from '../src/paths';

/** Compiles `source` (relative to the package root, or absolute) into `out`; returns `out`. */
export function compileBpf(source: string, out: string): string {
  const arch = process.arch === 'arm64' ? 'arm64' : 'x86';
  execFileSync('clang', ['-target', 'bpf', '-O2', '-g', '-Wall', '-Werror', `-D__TARGET_ARCH_${arch}`, `-I${join(PACKAGE_ROOT, 'build', 'bpf')}`, `-I${join(PACKAGE_ROOT, 'bpf')}`,
    '-c', resolve(PACKAGE_ROOT, source), '-o', out]);
  return out;
}
