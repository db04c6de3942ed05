// Where the build puts things, relative to the package root (this file runs as dist/src/paths.js).
import { join, resolve } from 'node:path';

export const PACKAGE_ROOT = resolve(__dirname, '..', '..');
export const NATIVE_ADDON_PATH = join(PACKAGE_ROOT, 'native', 'build', 'Release', 'tcpscope_bpf.node');

/** The compiled CO-RE object of bpf/<stem>.bpf.c. */
export function bpfObjectPath(stem: string): string {
  return join(PACKAGE_ROOT, 'build', 'bpf', `${stem}.bpf.o`);
}
