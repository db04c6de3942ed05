// node:test reporter of the kernel matrix's guest: one line per top-level test,
// `KMATRIX {"check":<test name>,"ok":bool,"s":seconds,...}`, plus the fields the test reported as
// a diagnostic `kmatrix {json}` (e.g. the agent's start time) and the first line of a failure.
// scripts/kernel-matrix-guest.sh sends these lines to the host over a serial port of their own.
import type { TestEvent } from 'node:test/reporters';

interface Measured {
  [key: string]: string | number | boolean;
}

const DIAGNOSTIC = /^kmatrix (\{.*\})$/;

/** The first line of a failure that says something: an assertion's own message, or its diff. */
function firstLine(error: Error): string {
  const cause = (error as Error & { cause?: unknown }).cause;
  const message = String(cause instanceof Error ? cause.message : error.message);
  const lines = message.split('\n').map((l) => l.trim()).filter(Boolean);
  const text = /^Expected values to be/.test(lines[0] ?? '') ? lines.slice(0, 2).join(' ') : (lines[0] ?? 'failed');
  return text.slice(0, 300);
}

async function* matrixReporter(source: AsyncIterable<TestEvent>): AsyncGenerator<string> {
  // node:test reports a test's diagnostics after its result: a result line is held until the next
  // result (or the end) so that they can join it.
  let pending: Measured | undefined;
  for await (const event of source) {
    if (event.type === 'test:diagnostic') {
      const match = DIAGNOSTIC.exec(event.data.message);
      if (match && pending) Object.assign(pending, JSON.parse(match[1]) as Measured);
      continue;
    }
    if ((event.type !== 'test:pass' && event.type !== 'test:fail') || event.data.nesting !== 0) continue;
    if (pending) yield `KMATRIX ${JSON.stringify(pending)}\n`;
    const details = event.data.details as { duration_ms: number; error?: Error };
    pending = { check: event.data.name, ok: event.type === 'test:pass', s: Math.round(details.duration_ms) / 1000 };
    if (event.data.skip !== undefined && event.data.skip !== false) pending.skipped = true;
    if (details.error) pending.error = firstLine(details.error);
  }
  if (pending) yield `KMATRIX ${JSON.stringify(pending)}\n`;
}

export = matrixReporter;
