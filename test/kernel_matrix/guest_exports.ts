// What the guest suites (smoke.kernel.ts, degradation.kernel.ts) read back from the agent's file
// exporter: the points of one test cgroup, and the last metrics export that shows what a check
// waits for.
import type { TestCgroup } from '../support/cgroup';
import { waitUntil } from '../support/child';
import { readOtlpJsonFileSoFar, type FlatDataPoint } from '../support/otlp_json';

/** Points of `metric` of test cgroup `group` whose attributes include `extra`. */
export function pointsOf(points: readonly FlatDataPoint[], metric: string, group: TestCgroup | undefined, extra: Record<string, string> = {}): FlatDataPoint[] {
  return points.filter(
    (p) => p.metric === metric && p.attributes['process.linux.cgroup'] === group?.attribute && Object.entries(extra).every(([k, v]) => p.attributes[k] === v),
  );
}

/** The last metrics export in file `path` so far whose points satisfy `ready`, waited for up to `deadlineMs`. */
export async function lastExportWhere(path: string, what: string, deadlineMs: number, ready: (points: readonly FlatDataPoint[]) => boolean): Promise<FlatDataPoint[]> {
  let found: FlatDataPoint[] | undefined;
  await waitUntil(
    () => {
      found = readOtlpJsonFileSoFar(path).metricExports.filter((points) => ready(points)).at(-1);
      return found !== undefined;
    },
    deadlineMs,
    what,
  );
  return found!;
}
