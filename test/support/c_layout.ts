// Asks the C compiler for sizeof/offsetof of structs in a bpf/*.h header, so decoders are
// checked against the real layout rather than against what someone typed.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../../src/paths';

export interface CLayout {
  sizes: Record<string, number>;
  offsets: Record<string, Record<string, number>>;
  fieldSizes: Record<string, Record<string, number>>;
  constants: Record<string, number>;
}

export function compileLayout(
  header: string,
  structs: Record<string, readonly string[]>,
  constants: readonly string[],
): CLayout {
  const lines = [
    '#include <stdio.h>',
    '#include <stddef.h>',
    '#include <linux/types.h>',
    `#include "${join(PACKAGE_ROOT, 'bpf', header)}"`,
    'int main(void) {',
    '  printf("{\\"sizes\\":{");',
  ];
  const names = Object.keys(structs);
  names.forEach((s, i) => lines.push(`  printf("\\"${s}\\":%zu${i < names.length - 1 ? ',' : ''}", sizeof(struct ${s}));`));
  lines.push('  printf("},\\"offsets\\":{");');
  names.forEach((s, i) => {
    lines.push(`  printf("\\"${s}\\":{");`);
    structs[s].forEach((f, j) =>
      lines.push(`  printf("\\"${f}\\":%zu${j < structs[s].length - 1 ? ',' : ''}", offsetof(struct ${s}, ${f}));`),
    );
    lines.push(`  printf("}${i < names.length - 1 ? ',' : ''}");`);
  });
  lines.push('  printf("},\\"fieldSizes\\":{");');
  names.forEach((s, i) => {
    lines.push(`  printf("\\"${s}\\":{");`);
    structs[s].forEach((f, j) =>
      lines.push(`  printf("\\"${f}\\":%zu${j < structs[s].length - 1 ? ',' : ''}", sizeof(((struct ${s} *)0)->${f}));`),
    );
    lines.push(`  printf("}${i < names.length - 1 ? ',' : ''}");`);
  });
  lines.push('  printf("},\\"constants\\":{");');
  constants.forEach((c, i) => lines.push(`  printf("\\"${c}\\":%lld${i < constants.length - 1 ? ',' : ''}", (long long)(${c}));`));
  lines.push('  printf("}}");', '  return 0;', '}');

  const dir = mkdtempSync(join(tmpdir(), 'tcpscope-layout-'));
  try {
    writeFileSync(join(dir, 'layout.c'), lines.join('\n'));
    execFileSync('cc', ['-Wall', '-Werror', '-o', join(dir, 'layout'), join(dir, 'layout.c')], { stdio: 'pipe' });
    return JSON.parse(execFileSync(join(dir, 'layout'), { encoding: 'utf8' })) as CLayout;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface StructLayout {
  readonly size: number;
  readonly fields: Readonly<Record<string, { readonly offset: number; readonly size: number }>>;
}

/** Asserts that a decoder's view of `header`'s structs and #defines equals the compiler's. */
export function assertLayoutMatches(
  header: string,
  structs: Readonly<Record<string, StructLayout>>,
  constants: Readonly<Record<string, number>>,
  equal: (actual: unknown, expected: unknown, message: string) => void,
): void {
  const layout = compileLayout(
    header,
    Object.fromEntries(Object.entries(structs).map(([name, s]) => [name, Object.keys(s.fields)])),
    Object.keys(constants),
  );
  for (const [name, s] of Object.entries(structs)) {
    equal(layout.sizes[name], s.size, `sizeof(struct ${name})`);
    for (const [field, f] of Object.entries(s.fields)) {
      equal(layout.offsets[name][field], f.offset, `offsetof(struct ${name}, ${field})`);
      equal(layout.fieldSizes[name][field], f.size, `sizeof(${name}.${field})`);
    }
  }
  for (const [name, value] of Object.entries(constants)) equal(layout.constants[name], value, name);
}
