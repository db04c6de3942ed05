// `node dist/bench/event_path.js [--rounds R] [--events N] [--rate EPS] [--semi 32,16,8] [--k8s]
// [--paths decoded,raw] [--baseline DIR] [--out FILE] [--node-flags "FLAGS"]`:
// the agent's event path in user space, from ring batches to the file exporter writing OTLP/JSON
// to /dev/null, fed at a fixed rate with the same synthetic batches (churn-shaped, 256 records,
// a fresh Buffer per batch as the addon hands over), so that two variants see identical input:
// the decoded path (decodeLifecycleEvent + lifecycleLogRecord) and the raw-bytes path
// (LifecycleRawLogRecord), each under each --max-semi-space-size. Each run is its own process,
// variants alternate (rotated each round); it reports process CPU per event (user+system, robust
// to other load on the machine) and peak RSS (VmHWM). No BPF: the kernel side is not measured.
// `--baseline DIR[,DIR...]` (other built checkouts, e.g. a worktree of main) runs each variant from
// each DIR's dist/ too, alternating with this one, so that a change is measured against its base
// in one run.
// `--out FILE` writes to FILE (truncated first, removed after) instead of /dev/null, to include
// what a real file's page cache costs and holds. `--node-flags` adds node flags to every run (e.g.
// the launcher's `--heap-growing-percent=25`, which bin/tcpscope sets beside the semi-space).
import { spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { HrTime } from '@opentelemetry/api';
import type { Consumer } from '../src/component';
import { FileExporter } from '../src/exporters/file/file_exporter';
import { createLogger } from '../src/logger';
import { Enrichment } from '../src/processors/k8s_attributes/enrichment';
import { agentResource } from '../src/resource';
import { EventPump } from '../src/receivers/common/event_pump';
import { decodeLifecycleEvent } from '../src/receivers/tcp_lifecycle/decoder';
import { lifecycleLogRecord } from '../src/receivers/tcp_lifecycle/log_records';
import { arg, feedAtRate, peakRssMb, rawRecords, syntheticContext } from './pump_feeder';

type Path = 'decoded' | 'raw';

async function child(path: Path, events: number, rate: number, k8s: boolean, out: string): Promise<void> {
  const settings = { id: { type: 'file', text: 'file' }, resource: agentResource(), logger: createLogger('warn') };
  const context = syntheticContext();
  if (out !== '/dev/null') writeFileSync(out, '');
  const exporter = new FileExporter(settings, { path: out, flushIntervalMs: 100 }, ['logs']);
  await exporter.start({ reportFatal: (e) => { throw e; } });
  const enrichment = new Enrichment();
  const exporterLogs = exporter.consumers.logs!;
  const consumer: Consumer<'logs'> = k8s ? { consume: (records) => exporterLogs.consume(records.map((r) => enrichment.enrichRecord(r))) } : exporterLogs;
  // As KernelReceiver wires decode / decodeRaw.
  const toRecord =
    path === 'raw'
      ? rawRecords(context)
      : (batch: Buffer, offset: number, length: number, observed: HrTime) => lifecycleLogRecord(decodeLifecycleEvent(batch, offset, length), context, observed);
  const pump = new EventPump(settings.logger, consumer, toRecord);
  const cpuStart = process.cpuUsage();
  const started = Date.now();
  const sent = await feedAtRate(pump, events, rate);
  await pump.settle();
  await exporter.shutdown();
  const cpu = process.cpuUsage(cpuStart);
  if (out !== '/dev/null') rmSync(out, { force: true });
  process.stdout.write(JSON.stringify({ events: sent, seconds: (Date.now() - started) / 1000, cpuUsPerEvent: (cpu.user + cpu.system) / sent, peakRssMb: peakRssMb() }) + '\n');
}

interface Result {
  readonly cpuUsPerEvent: number;
  readonly peakRssMb: number;
  readonly seconds: number;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function driver(): void {
  const rounds = Number(arg('rounds', '3'));
  const semis = arg('semi', '32').split(',').map(Number);
  const paths = arg('paths', 'decoded,raw').split(',') as Path[];
  const baseline = arg('baseline', '');
  const nodeFlags = arg('node-flags', '').split(/\s+/).filter(Boolean);
  const forwarded = ['--events', arg('events', '400000'), '--rate', arg('rate', '40000'), '--out', arg('out', '/dev/null'), ...(process.argv.includes('--k8s') ? ['--k8s'] : [])];
  const builds = [{ label: '', script: __filename }];
  for (const dir of baseline.split(',').filter(Boolean)) builds.push({ label: `${dir}: `, script: join(dir, 'dist', 'bench', 'event_path.js') });
  const variants = semis.flatMap((semi) =>
    paths.flatMap((path) => builds.map((b) => ({ path, semi, script: b.script, name: `${b.label}${path}, semi-space ${semi} MB` }))),
  );
  const results = new Map<string, Result[]>(variants.map((v) => [v.name, []]));
  for (let round = 0; round < rounds; round++) {
    for (let k = 0; k < variants.length; k++) {
      const v = variants[(k + round) % variants.length];
      const run = spawnSync(process.execPath, [`--max-semi-space-size=${v.semi}`, ...nodeFlags, v.script, '--child', '--path', v.path, ...forwarded], { encoding: 'utf8' });
      if (run.status !== 0) throw new Error(`${v.name}: exit ${run.status}: ${run.stderr}`);
      const result = JSON.parse(run.stdout.trim().split('\n').at(-1)!) as Result;
      results.get(v.name)!.push(result);
      console.error(`[${round + 1}/${rounds}] ${v.name}: ${result.cpuUsPerEvent.toFixed(2)} us/event, peak RSS ${result.peakRssMb.toFixed(1)} MB`);
    }
  }
  console.log(`event path in user space, ${[...nodeFlags, ...forwarded].join(' ')}, ${rounds} rounds (median, min-max):`);
  console.log('| variant | agent CPU us / event | peak RSS MB | seconds |');
  console.log('|---|---|---|---|');
  for (const [name, rs] of results) {
    const cpu = rs.map((r) => r.cpuUsPerEvent);
    const rss = rs.map((r) => r.peakRssMb);
    const seconds = rs.map((r) => r.seconds);
    console.log(`| ${name} | ${median(cpu).toFixed(2)} (${Math.min(...cpu).toFixed(2)}-${Math.max(...cpu).toFixed(2)}) | ${median(rss).toFixed(1)} (${Math.min(...rss).toFixed(1)}-${Math.max(...rss).toFixed(1)}) | ${median(seconds).toFixed(1)} |`);
  }
}

if (process.argv.includes('--child')) {
  void child(arg('path', 'raw') as Path, Number(arg('events', '400000')), Number(arg('rate', '40000')), process.argv.includes('--k8s'), arg('out', '/dev/null'));
} else {
  driver();
}
