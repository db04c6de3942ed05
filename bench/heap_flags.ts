// `node dist/bench/heap_flags.js [--rounds R] [--events N] [--rate EPS] [--variant "FLAGS"]...`:
// the launcher's node flags against alternatives, on the event path in user space at a fixed
// rate (bench/event_path.ts's child: synthetic ring batches -> raw records -> file exporter to
// /dev/null, identical input in every run). Each run is its own process; variants alternate,
// rotated each round. Reports process CPU per event (robust to other load on the machine) and
// peak RSS (VmHWM). No BPF: the kernel ring buffer's pages (ring_buffer_size, mapped twice) and
// the receivers' modules come on top in the agent.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { launcherNodeFlags } from './agent_process';

const USAGE = `usage: node dist/bench/heap_flags.js [--rounds R] [--events N] [--rate EPS] [--variant "FLAGS"]...

  --variant FLAGS  node flags of one variant (repeatable); the launcher's flags (bin/tcpscope)
                   are always the first variant
  --rounds R       runs of each variant (default 3)
  --events N       events per run (default 480000)
  --rate EPS       events per second fed (default 60000: ~15,000 connections/s, 4 events each)`;

interface Run {
  readonly cpuUsPerEvent: number;
  readonly peakRssMb: number;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function main(argv: readonly string[]): void {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(USAGE);
    return;
  }
  const value = (name: string, fallback: string) => {
    const at = argv.indexOf(`--${name}`);
    return at >= 0 && at + 1 < argv.length ? argv[at + 1] : fallback;
  };
  const launcher = launcherNodeFlags(join(__dirname, '..', '..', 'bin', 'tcpscope')).join(' ');
  const variants = [launcher, ...argv.flatMap((a, i) => (a === '--variant' && i + 1 < argv.length ? [argv[i + 1]] : []))];
  const rounds = Number(value('rounds', '3'));
  const feed = ['--events', value('events', '480000'), '--rate', value('rate', '60000')];
  const child = join(__dirname, 'event_path.js');
  const runs = new Map<string, Run[]>(variants.map((v) => [v, []]));
  for (let round = 0; round < rounds; round++) {
    for (let k = 0; k < variants.length; k++) {
      const flags = variants[(k + round) % variants.length];
      const run = spawnSync(process.execPath, [...flags.split(/\s+/).filter(Boolean), child, '--child', '--path', 'raw', ...feed], { encoding: 'utf8' });
      if (run.status !== 0) throw new Error(`${flags}: exit ${run.status}: ${run.stderr}`);
      const result = JSON.parse(run.stdout.trim().split('\n').at(-1)!) as Run;
      runs.get(flags)!.push(result);
      console.error(`[${round + 1}/${rounds}] ${flags}: ${result.cpuUsPerEvent.toFixed(2)} us/event, peak RSS ${result.peakRssMb.toFixed(1)} MB`);
    }
  }
  console.log(`event path in user space, ${feed.join(' ')}, ${rounds} rounds (median, min-max); first row: the launcher's flags`);
  console.log('| node flags | CPU us / event | peak RSS MB |');
  console.log('|---|---:|---:|');
  for (const [flags, rs] of runs) {
    const cpu = rs.map((r) => r.cpuUsPerEvent);
    const rss = rs.map((r) => r.peakRssMb);
    console.log(`| \`${flags}\` | ${median(cpu).toFixed(2)} (${Math.min(...cpu).toFixed(2)}-${Math.max(...cpu).toFixed(2)}) | ${median(rss).toFixed(1)} (${Math.min(...rss).toFixed(1)}-${Math.max(...rss).toFixed(1)}) |`);
  }
}

main(process.argv.slice(2));
