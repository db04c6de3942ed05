// What a running capture costs the packets it does not take, and the ones it does: the ping-pong
// load on loopback while one packet_capture capture is attached at the root cgroup, selecting
// nothing of the load (a port no one uses) or all of it (loopback, headers only, no rate limit),
// with the kernel's per-program run time (kernel.bpf_stats_enabled, restored after).
// Run as root after a build: node dist/bench/capture_cost.js [seconds]
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findCgroupV2Root } from '../src/host/cgroup_resolver';
import { processMonotonicClock } from '../src/host/monotonic_clock';
import { createLogger } from '../src/logger';
import { bpfObjectPath } from '../src/paths';
import { applyRequest } from '../src/receivers/packet_capture/request';
import { CaptureSession } from '../src/receivers/packet_capture/session';
import type { CaptureRequest } from '../src/receivers/packet_capture/capture_api';
import { DEFAULT_PINGPONG_OPTIONS, runPingPongLoad } from './pingpong_load';

const STATS = '/proc/sys/kernel/bpf_stats_enabled';

async function measure(label: string, request: CaptureRequest, seconds: number, dir: string): Promise<void> {
  const applied = applyRequest(request, { packets: 100_000_000, bytes: 2 ** 40, snaplen: 0, durationMs: 3_600_000, sampleOneIn: 1, packetsPerSecond: 0 }, findCgroupV2Root(), () => undefined);
  const session = new CaptureSession(applied, {
    id: label,
    objectPath: bpfObjectPath('packet_capture'),
    directory: dir,
    maxFileBytes: 64 * 1024 * 1024,
    maxFiles: 4,
    ringBufferBytes: 16 * 1024 * 1024,
    pollMs: 100,
    clock: processMonotonicClock(),
    logger: createLogger('warn'),
    describeCgroup: () => undefined,
  });
  session.start();
  const load = await runPingPongLoad({ ...DEFAULT_PINGPONG_OPTIONS, seconds });
  const programs = session.programInfo();
  const status = await session.finish('stopped');
  const runs = programs.reduce((s, p) => s + p.runCount, 0n);
  const ns = programs.reduce((s, p) => s + p.runTimeNs, 0n);
  const perRun = runs > 0n ? Number(ns) / Number(runs) : 0;
  process.stdout.write(
    `| ${label} | ${load.roundTrips.toLocaleString('en-US')} | ${runs.toLocaleString('en-US')} | ${perRun.toFixed(0)} | ${status.captured.packets.toLocaleString('en-US')} | ${status.skipped.lost.toLocaleString('en-US')} |\n`,
  );
}

async function main(): Promise<void> {
  const seconds = Number(process.argv[2] ?? 5);
  const before = readFileSync(STATS, 'utf8').trim();
  const dir = mkdtempSync(join(tmpdir(), 'tcpscope-capture-cost-'));
  writeFileSync(STATS, '1');
  try {
    process.stdout.write('| capture at the root cgroup | round trips | program runs | ns / run | packets written | lost (ring full) |\n|---|---|---|---|---|---|\n');
    await measure('selecting nothing of the load (port 1)', { selection: { destinationPort: 1 } }, seconds, dir);
    await measure('selecting all of it (127.0.0.1, headers only)', { selection: { destinationAddress: '127.0.0.1' } }, seconds, dir);
  } finally {
    writeFileSync(STATS, before);
    rmSync(dir, { recursive: true, force: true });
  }
}

void main();
