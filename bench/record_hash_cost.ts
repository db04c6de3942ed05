// `node dist/bench/record_hash_cost.js [rounds] [seconds]` (root): what writing connection_hash
// into every event record costs in the kernel. Two copies of each receiver's BPF object are loaded
// side by side, one with cfg_connection_hash = 1 (what the agent runs when a logs pipeline samples) and one with 0, both with
// events on and their ring buffers drained; both see the very same socket transitions of a
// loopback churn load, so the difference of their BPF run time (kernel.bpf_stats_enabled) is the
// hash, with the machine's noise shared by both. The attach order alternates between rounds (the
// second program on a tracepoint finds the socket in cache).
import { BpfObject, type ProgramInfo } from '../src/bridge/bpf_object';
import { bpfObjectPath } from '../src/paths';
import { DEFAULT_CHURN_OPTIONS, runChurnLoad } from './churn_load';
import { bpfStatsEnabled, setBpfStatsEnabled } from './proc_stats';

const ROUNDS = Number(process.argv[2] ?? 6);
const SECONDS = Number(process.argv[3] ?? 4);

interface Variant {
  readonly stem: 'tcp_lifecycle' | 'tcp_handshake';
  readonly hash: boolean;
}

const VARIANTS: readonly Variant[] = [
  { stem: 'tcp_lifecycle', hash: true },
  { stem: 'tcp_lifecycle', hash: false },
  { stem: 'tcp_handshake', hash: true },
  { stem: 'tcp_handshake', hash: false },
];
const EVENTS_MAP = { tcp_lifecycle: 'tcp_lifecycle_events', tcp_handshake: 'tcp_handshake_events' } as const;
const name = (v: Variant) => `${v.stem} ${v.hash ? 'with' : 'without'} connection_hash`;

function open(v: Variant): BpfObject {
  const bpf = BpfObject.openAndLoad(bpfObjectPath(v.stem), (b) => {
    b.setGlobalU32('cfg_events_enabled', 1);
    b.setGlobalU32('cfg_connection_hash', v.hash ? 1 : 0);
  });
  bpf.attach();
  bpf.openRing(EVENTS_MAP[v.stem], () => undefined, 20);
  return bpf;
}

function totals(info: readonly ProgramInfo[]): Map<string, { runs: bigint; ns: bigint }> {
  return new Map(info.map((p) => [p.program, { runs: p.runCount, ns: p.runTimeNs }]));
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

async function main(): Promise<void> {
  const statsWere = bpfStatsEnabled();
  setBpfStatsEnabled(true);
  // variant -> program -> per-round ns per connection of the load, and ns per run
  const perConnection = new Map<string, number[]>();
  const perRun = new Map<string, number[]>();
  try {
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? VARIANTS : [...VARIANTS].reverse();
      const objects = order.map((v) => ({ v, bpf: open(v) }));
      try {
        const before = objects.map((o) => totals(o.bpf.programInfo()));
        const load = await runChurnLoad({ ...DEFAULT_CHURN_OPTIONS, connections: 1_000_000, seconds: SECONDS });
        const after = objects.map((o) => totals(o.bpf.programInfo()));
        objects.forEach((o, i) => {
          for (const [program, end] of after[i]) {
            const start = before[i].get(program)!;
            const runs = Number(end.runs - start.runs);
            const ns = Number(end.ns - start.ns);
            if (runs === 0) continue;
            const key = `${name(o.v)} | ${program}`;
            (perConnection.get(key) ?? perConnection.set(key, []).get(key)!).push(ns / load.completed);
            (perRun.get(key) ?? perRun.set(key, []).get(key)!).push(ns / runs);
          }
        });
        process.stderr.write(`round ${round + 1}/${ROUNDS}: ${load.completed} connections, ${Math.round(load.connectionsPerSecond)}/s\n`);
      } finally {
        for (const o of objects) o.bpf.close();
      }
    }
  } finally {
    if (!statsWere) setBpfStatsEnabled(false);
  }
  console.log(`BPF run time of each program, median of ${ROUNDS} rounds of ${SECONDS} s loopback churn (both variants attached at once):`);
  console.log('| variant | program | ns / run | ns / connection (min-max) |');
  console.log('|---|---|---|---|');
  for (const [key, values] of perConnection) {
    const [variant, program] = key.split(' | ');
    console.log(`| ${variant} | ${program} | ${median(perRun.get(key)!).toFixed(0)} | ${median(values).toFixed(0)} (${Math.min(...values).toFixed(0)}-${Math.max(...values).toFixed(0)}) |`);
  }
  // Paired by round: both variants ran the same transitions at the same time, so the per-round
  // difference of ns per run is the hash, with the noise of that round shared.
  console.log('');
  console.log('paired by round (with - without, same runs): median (min-max) over rounds');
  console.log('| program | ns / run | ratio |');
  console.log('|---|---|---|');
  for (const [key, values] of perRun) {
    const [variant, program] = key.split(' | ');
    if (!variant.endsWith(' with connection_hash')) continue;
    const other = perRun.get(`${variant.replace(' with ', ' without ')} | ${program}`);
    if (!other) continue;
    const deltas = values.map((v, i) => v - other[i]);
    const ratios = values.map((v, i) => v / other[i]);
    console.log(`| ${program} | ${median(deltas).toFixed(0)} (${Math.min(...deltas).toFixed(0)} to ${Math.max(...deltas).toFixed(0)}) | ${median(ratios).toFixed(3)} |`);
  }
}

void main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
