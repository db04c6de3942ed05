// Which hook should tcp_rtt use? Ping-pong on loopback with: no program, tcp_rtt's
// tp_btf/tcp_probe program, and the sockops alternative (bench/bpf/rtt_sockops.bpf.c on the
// cgroup v2 root), in alternating rounds of one run; kernel time per program run from
// kernel.bpf_stats_enabled. Run as root after `npm run build`: node dist/bench/rtt_hooks.js
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BpfObject } from '../src/bridge/bpf_object';
import { findCgroupV2Root } from '../src/host/cgroup_resolver';
import { PACKAGE_ROOT } from '../src/paths';
import { TcpRttReceiver } from '../src/receivers/tcp_rtt/receiver';
import { kernelBucketUpperBoundsUs } from '../src/receivers/tcp_rtt/buckets';
import { createLogger } from '../src/logger';
import { agentResource } from '../src/resource';
import { DEFAULT_PINGPONG_OPTIONS, runPingPongLoad } from './pingpong_load';
import { bpfProgramRuns, bpfStatsEnabled, setBpfStatsEnabled } from './proc_stats';

type Hook = 'off' | 'tcp_probe' | 'sockops';
const ROUNDS = Number(process.argv[2] ?? 3);
const SECONDS = Number(process.argv[3] ?? 4);

function compileSockops(dir: string): string {
  const out = join(dir, 'rtt_sockops.bpf.o');
  const arch = process.arch === 'arm64' ? 'arm64' : 'x86';
  execFileSync('clang', ['-target', 'bpf', '-O2', '-g', `-D__TARGET_ARCH_${arch}`, `-I${join(PACKAGE_ROOT, 'build', 'bpf')}`, `-I${join(PACKAGE_ROOT, 'bpf')}`,
    '-c', join(PACKAGE_ROOT, 'bench', 'bpf', 'rtt_sockops.bpf.c'), '-o', out]);
  return out;
}

async function withHook<T>(hook: Hook, sockopsObject: string, work: () => Promise<T>): Promise<T> {
  if (hook === 'off') return work();
  if (hook === 'tcp_probe') {
    const receiver = new TcpRttReceiver(
      { id: { type: 'tcp_rtt', text: 'tcp_rtt' }, resource: agentResource(), logger: createLogger('warn') },
      { collection_interval: '1h', sample_interval: '0', group_by: ['cgroup'], scale: 3, histogram: 'exponential', max_series: 1024 },
      { metrics: { consume: async () => undefined } },
    );
    await receiver.start({ reportFatal: (e) => { throw e; } });
    try {
      return await work();
    } finally {
      await receiver.shutdown();
    }
  }
  const bpf = BpfObject.openAndLoad(sockopsObject, (object) => {
    const upper = kernelBucketUpperBoundsUs();
    const table = Buffer.alloc(8 * upper.length);
    upper.forEach((u, i) => table.writeBigUInt64LE(u, 8 * i));
    object.setGlobal('cfg_bucket_upper_us', table);
  });
  try {
    bpf.attachToCgroup('rtt_sockops', findCgroupV2Root() ?? '/sys/fs/cgroup');
    return await work();
  } finally {
    bpf.close();
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'tcpscope-rtt-hooks-'));
  const statsWere = bpfStatsEnabled();
  setBpfStatsEnabled(true);
  const rates: Record<Hook, number[]> = { off: [], tcp_probe: [], sockops: [] };
  const perRun: Record<Hook, { ns: number; runs: number }> = { off: { ns: 0, runs: 0 }, tcp_probe: { ns: 0, runs: 0 }, sockops: { ns: 0, runs: 0 } };
  let roundTrips: Record<Hook, number> = { off: 0, tcp_probe: 0, sockops: 0 };
  try {
    const sockopsObject = compileSockops(dir);
    const order: Hook[] = ['off', 'tcp_probe', 'sockops'];
    for (let r = 0; r < ROUNDS; r++) {
      for (let i = 0; i < order.length; i++) {
        const hook = order[(i + r) % order.length];
        await withHook(hook, sockopsObject, async () => {
          const before = bpfProgramRuns(process.pid);
          const result = await runPingPongLoad({ ...DEFAULT_PINGPONG_OPTIONS, seconds: SECONDS });
          const after = bpfProgramRuns(process.pid);
          for (const a of after) {
            const b = before.find((x) => x.id === a.id);
            perRun[hook].ns += a.runTimeNs - (b?.runTimeNs ?? 0);
            perRun[hook].runs += a.runCount - (b?.runCount ?? 0);
          }
          rates[hook].push(result.roundTripsPerSecond);
          roundTrips = { ...roundTrips, [hook]: roundTrips[hook] + result.roundTrips };
          process.stderr.write(`[round ${r + 1}] ${hook}: ${Math.round(result.roundTripsPerSecond)} round trips/s\n`);
        });
      }
    }
  } finally {
    setBpfStatsEnabled(statsWere);
    rmSync(dir, { recursive: true, force: true });
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const off = median(rates.off);
  process.stdout.write(`command: node dist/bench/rtt_hooks.js ${ROUNDS} ${SECONDS}\n\n| hook | round trips/s median | ratio vs off | program runs / round trip | ns / run |\n|---|---|---|---|---|\n`);
  for (const hook of ['off', 'tcp_probe', 'sockops'] as const) {
    const runs = perRun[hook];
    const perTrip = roundTrips[hook] ? runs.runs / roundTrips[hook] : 0;
    process.stdout.write(
      `| ${hook} | ${Math.round(median(rates[hook])).toLocaleString('en-US')} | ${(median(rates[hook]) / off).toFixed(3)} | ${hook === 'off' ? '-' : perTrip.toFixed(2)} | ${runs.runs ? Math.round(runs.ns / runs.runs) : '-'} |\n`,
    );
  }
}

main().catch((error: Error) => {
  process.stderr.write(`rtt_hooks: ${error.message}\n`);
  process.exit(1);
});
