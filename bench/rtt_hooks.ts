// What does one segment cost tcp_rtt, per hook, per program variant and per sample_interval?
// Ping-pong on loopback (bench/pingpong_load.ts) in this process with no program and with each
// variant, in alternating rounds of one run (the order rotates each round), kernel time per
// program run from kernel.bpf_stats_enabled, and this process's CPU time per round trip. The load
// runs in this process and the kernel here charges softirq time to the task it interrupts (no
// CONFIG_IRQ_TIME_ACCOUNTING), so that CPU time covers both ends' network stack and the program
// runs; unlike round trips/s, it barely moves when other processes compete for the cores.
//
// Variants, each `<program>:<sample_interval>`:
//   probe:<d>    tcp_rtt's own object (build/bpf/tcp_rtt.bpf.o) through TcpRttReceiver
//   lru:<d>      the program before socket-local storage (bench/bpf/rtt_lru_cookie.bpf.c), same receiver
//   sockops:<d>  bench/bpf/rtt_sockops.bpf.c on the cgroup v2 root, the same gate and update
//   file:<path.bpf.c>:<d>  any other variant of tcp_rtt's program (the receiver's map and program
//                names), compiled like bpf/ and loaded through TcpRttReceiver
// and `off` (no program) and `empty` (bench/bpf/rtt_empty.bpf.c: a tcp_probe program that returns
// at once, the floor of the hook). <d> is a sample_interval ("0", "10ms", "50ms").
//
// Run as root after `npm run build`:
//   node dist/bench/rtt_hooks.js [--rounds 3] [--seconds 4] [--variants off,probe:0,probe:50ms,...]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { BpfObject } from '../src/bridge/bpf_object';
import { parseDuration } from '../src/exporters/duration';
import { findCgroupV2Root } from '../src/host/cgroup_resolver';
import { bpfObjectPath } from '../src/paths';
import { TcpRttReceiver } from '../src/receivers/tcp_rtt/receiver';
import { kernelBucketUpperBoundsUs } from '../src/receivers/tcp_rtt/buckets';
import { createLogger } from '../src/logger';
import { agentResource } from '../src/resource';
import { compileBpf } from './bpf_compile';
import { numberArg, parseArgs } from './churn_load';
import { DEFAULT_PINGPONG_OPTIONS, runPingPongLoad } from './pingpong_load';
import { bpfProgramRuns, bpfStatsEnabled, setBpfStatsEnabled } from './proc_stats';

type Program = 'probe' | 'lru' | 'sockops' | 'empty' | 'file';
interface Variant {
  readonly name: string;
  readonly program?: Program;
  readonly sampleInterval: string;
  /** The source of a `file:` variant. */
  readonly source?: string;
}

const DEFAULT_VARIANTS = 'off,empty,lru:0,probe:0,sockops:0,lru:50ms,probe:50ms,sockops:50ms';

function parseVariant(text: string): Variant {
  if (text === 'off') return { name: text, sampleInterval: '0' };
  if (text === 'empty') return { name: text, program: 'empty', sampleInterval: '0' };
  if (text.startsWith('file:')) {
    const at = text.lastIndexOf(':');
    const source = text.slice('file:'.length, at);
    if (at <= 'file:'.length || !source.endsWith('.bpf.c')) throw new Error(`variant "${text}": expected file:<path.bpf.c>:<sample_interval>`);
    parseDuration(text.slice(at + 1));
    return { name: text, program: 'file', sampleInterval: text.slice(at + 1), source };
  }
  const [program, interval, ...rest] = text.split(':');
  if (rest.length || !['probe', 'lru', 'sockops'].includes(program) || interval === undefined) {
    throw new Error(`unknown variant "${text}": expected off, empty or probe|lru|sockops:<sample_interval>, e.g. probe:50ms`);
  }
  parseDuration(interval); // throws with the accepted forms
  return { name: text, program: program as Program, sampleInterval: interval };
}

function compile(dir: string, source: string): string {
  return compileBpf(source, join(dir, `${basename(source, '.bpf.c')}-${compiled++}.bpf.o`));
}

function bucketTable(): Buffer {
  const upper = kernelBucketUpperBoundsUs();
  const table = Buffer.alloc(8 * upper.length);
  upper.forEach((u, i) => table.writeBigUInt64LE(u, 8 * i));
  return table;
}

let compiled = 0;

async function withVariant<T>(variant: Variant, objects: Record<Exclude<Program, 'file'>, string>, files: Map<string, string>, work: () => Promise<T>): Promise<T> {
  if (!variant.program) return work();
  const intervalNs = BigInt(Math.round(parseDuration(variant.sampleInterval) * 1e6));
  if (variant.program === 'empty') {
    const bpf = BpfObject.openAndLoad(objects.empty, () => undefined);
    try {
      bpf.attach();
      return await work();
    } finally {
      bpf.close();
    }
  }
  if (variant.program === 'sockops') {
    const bpf = BpfObject.openAndLoad(objects.sockops, (object) => {
      object.setGlobal('cfg_bucket_upper_us', bucketTable());
      object.setGlobalU64('cfg_sample_interval_ns', intervalNs);
    });
    try {
      bpf.attachToCgroup('rtt_sockops', findCgroupV2Root() ?? '/sys/fs/cgroup');
      return await work();
    } finally {
      bpf.close();
    }
  }
  const receiver = new TcpRttReceiver(
    { id: { type: 'tcp_rtt', text: 'tcp_rtt' }, resource: agentResource(), logger: createLogger('warn') },
    { collection_interval: '1h', sample_interval: variant.sampleInterval, group_by: ['cgroup'], scale: 3, histogram: 'exponential', max_series: 1024 },
    { metrics: { consume: async () => undefined } },
    variant.program === 'file' ? files.get(variant.name)! : objects[variant.program],
  );
  await receiver.start({ reportFatal: (e) => { throw e; } });
  try {
    return await work();
  } finally {
    await receiver.shutdown();
  }
}

interface Totals {
  rates: number[];
  roundTrips: number;
  cpuUs: number;
  runs: number;
  runNs: number;
  /** ns per program run in each round: interference only adds time, so the low ones are the cleanest. */
  nsPerRun: number[];
}

const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2), ['rounds', 'seconds', 'variants']);
  const rounds = numberArg(args, 'rounds', 3);
  const seconds = numberArg(args, 'seconds', 4);
  const variants = (args.get('variants') ?? DEFAULT_VARIANTS).split(',').map(parseVariant);
  const dir = mkdtempSync(join(tmpdir(), 'tcpscope-rtt-hooks-'));
  const statsWere = bpfStatsEnabled();
  setBpfStatsEnabled(true);
  const totals = new Map<string, Totals>(variants.map((v) => [v.name, { rates: [], roundTrips: 0, cpuUs: 0, runs: 0, runNs: 0, nsPerRun: [] }]));
  try {
    const bench = (stem: string) => compile(dir, join('bench', 'bpf', `${stem}.bpf.c`));
    const objects = { probe: bpfObjectPath('tcp_rtt'), lru: bench('rtt_lru_cookie'), sockops: bench('rtt_sockops'), empty: bench('rtt_empty') };
    const files = new Map(variants.filter((v) => v.source).map((v) => [v.name, compile(dir, v.source!)]));
    for (let r = 0; r < rounds; r++) {
      for (let i = 0; i < variants.length; i++) {
        const variant = variants[(i + r) % variants.length];
        const total = totals.get(variant.name)!;
        await withVariant(variant, objects, files, async () => {
          const before = bpfProgramRuns(process.pid);
          const cpuBefore = process.cpuUsage();
          const result = await runPingPongLoad({ ...DEFAULT_PINGPONG_OPTIONS, seconds });
          const cpu = process.cpuUsage(cpuBefore);
          const after = bpfProgramRuns(process.pid);
          let roundNs = 0;
          let roundRuns = 0;
          for (const a of after) {
            const b = before.find((x) => x.id === a.id);
            roundNs += a.runTimeNs - (b?.runTimeNs ?? 0);
            roundRuns += a.runCount - (b?.runCount ?? 0);
          }
          total.runNs += roundNs;
          total.runs += roundRuns;
          if (roundRuns) total.nsPerRun.push(roundNs / roundRuns);
          total.rates.push(result.roundTripsPerSecond);
          total.roundTrips += result.roundTrips;
          total.cpuUs += cpu.user + cpu.system;
          process.stderr.write(
            `[round ${r + 1}] ${variant.name}: ${Math.round(result.roundTripsPerSecond)} round trips/s, ` +
              `${((cpu.user + cpu.system) / result.roundTrips).toFixed(2)} us CPU / round trip` +
              (roundRuns ? `, ${Math.round(roundNs / roundRuns)} ns / run` : '') + '\n',
          );
        });
      }
    }
  } finally {
    setBpfStatsEnabled(statsWere);
    rmSync(dir, { recursive: true, force: true });
  }
  const off = totals.get('off');
  const offRate = off ? median(off.rates) : NaN;
  const offCpu = off ? off.cpuUs / off.roundTrips : NaN;
  process.stdout.write(
    `command: node dist/bench/rtt_hooks.js --rounds ${rounds} --seconds ${seconds} --variants ${variants.map((v) => v.name).join(',')}\n\n` +
      '| variant | round trips/s median (min-max) | ratio vs off | program runs / round trip | ns / run (all rounds) | ns / run per round: median (min-max) | ns / round trip | CPU us / round trip | CPU vs off |\n' +
      '|---|---|---|---|---|---|---|---|---|\n',
  );
  for (const v of variants) {
    const t = totals.get(v.name)!;
    const rate = median(t.rates);
    const cpu = t.cpuUs / t.roundTrips;
    const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
    process.stdout.write(
      `| ${v.name} | ${fmt(rate)} (${fmt(Math.min(...t.rates))}-${fmt(Math.max(...t.rates))}) | ${(rate / offRate).toFixed(3)} | ` +
        `${v.program ? (t.runs / t.roundTrips).toFixed(2) : '-'} | ${t.runs ? Math.round(t.runNs / t.runs) : '-'} | ` +
        `${t.nsPerRun.length ? `${fmt(median(t.nsPerRun))} (${fmt(Math.min(...t.nsPerRun))}-${fmt(Math.max(...t.nsPerRun))})` : '-'} | ` +
        `${v.program ? (t.runNs / t.roundTrips).toFixed(0) : '-'} | ${cpu.toFixed(2)} | ${(cpu / offCpu).toFixed(3)} |\n`,
    );
  }
}

main().catch((error: Error) => {
  process.stderr.write(`rtt_hooks: ${error.message}\n`);
  process.exit(1);
});
