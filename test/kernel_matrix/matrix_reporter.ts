// node:test reporter of the kernel matrix's guest: one line per top-level test,
// `KMATRIX {"check":<test name>,"ok":bool,"s":seconds,...}`, plus the fields a test reported as a
// diagnostic `kmatrix {json}` (e.g. the agent's start time) and the first line of a failure.
// scripts/kernel-matrix-guest.sh sends these lines to the host over a serial port of their own.
import type { TestEvent } from 'node:test/reporters';

interface Measured {
  [key: string]: string | number | boolean;
}

const DIAGNOSTIC = /^kmatrix (\{.*\})$/;

async function* matrixReporter(source: AsyncIterable<TestEvent>): AsyncGenerator<string> {
  const extra = new Map<string, Measured>();
  for await (const event of source) {
    if (event.type === 'test:diagnostic') {
      const match = DIAGNOSTIC.exec(event.data.message);
      // Diagnostics arrive before their test's result; the test is named by nesting alone, so they
      // are kept under the file until the next top-level result takes them.
      if (match) extra.set('next', { ...(extra.get('next') ?? {}), ...(JSON.parse(match[1]) as Measured) });
      continue;
    }
    if ((event.type !== 'test:pass' && event.type !== 'test:fail') || event.data.nesting !== 0) continue;
    const details = event.data.details as { duration_ms: number; error?: Error };
    const line: Measured = { check: event.data.name, ok: event.type === 'test:pass', s: Math.round(details.duration_ms) / 1000, ...(extra.get('next') ?? {}) };
    extra.delete('next');
    if (event.data.skip !== undefined && event.data.skip !== false) line.skipped = true;
    if (details.error) {
      const cause = (details.error as Error & { cause?: unknown }).cause;
      line.error = String(cause instanceof Error ? cause.message : (details.error.message ?? details.error)).split('\n')[0].slice(0, 300);
    }
    yield `KMATRIX ${JSON.stringify(line)}\n`;
  }
}

export = matrixReporter;
