// `npm run bench`: connection churn with the agent off, with a metrics-only pipeline, and with
// every connection exported as an OTLP log event, in alternating rounds of one run so that the
// machine's noise hits every mode alike; prints ratios against "off" from the same run, the
// agent's CPU and peak RSS, and whether every event arrived. Run as root after `npm run build`.
// `--load pingpong` drives request/response round trips on a few long-lived connections instead
// (the load per-packet hooks such as tcp_rtt's pay for), by default with off, metrics and rtt.
import { execFileSync, spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../src/paths';
import { AGENT_ATTACH_TIMEOUT_MS, AGENT_SETTLE_MS, AGENT_STOP_TIMEOUT_MS, AgentProcess, sleep, waitUntilIdle } from './agent_process';
import { DEFAULT_CHURN_OPTIONS, numberArg, parseArgs } from './churn_load';
import { onExit, spawnTracked } from './child_processes';
import { InterferenceMonitor, type Interference } from './interference';
import { describeLoad, describeMeasure, LOAD_KINDS, LOAD_SCRIPTS, LOAD_UNITS, runLoad, withSeconds, type LoadKind, type LoadMeasure, type LoadSpec } from './loads';
import { DEFAULT_PINGPONG_OPTIONS, validate as validatePingPong } from './pingpong_load';
import { delayQuantile, readEventDelay } from './event_delay';
import { countLogRecords, readFinalMetrics } from './otlp_counts';
import {
  bpfProgramNames,
  bpfProgramRuns,
  bpfStatsEnabled,
  cpuSeconds,
  machineBusySeconds,
  memoryUse,
  setBpfStatsEnabled,
  type BpfProgramRuns,
} from './proc_stats';
import { agentConfig, canonicalOrder, eventsPerConnection, hasEvents, isOtlp, MODE_SYNTAX, modeLabel, parseMode, peerOf, samplingOf, type AgentMode } from './modes';
import type { SinkCounts } from './otlp_sink';
import { lostEvents, PEERS, PeerProcess, peerUnavailable } from './peers';
import { checkPerfAvailable, DEFAULT_PERF_FREQUENCY_HZ, PerfRecording, stopAllPerfRecordings, tracerProgramTags } from './perf_record';
import { summarizePerf, type PerfRoundShares } from './perf_share';
import {
  bpfTable,
  perfSymbolsTable,
  perfTable,
  roundsTable,
  summarize,
  summaryTable,
  TARGETS,
  verdictLines,
  verdicts,
  type AgentMeasurements,
  type BpfRuns,
  type Mode,
  type RoundResult,
} from './report';

interface BenchOptions {
  readonly load: LoadSpec;
  readonly rounds: number;
  readonly modes: readonly Mode[];
  /** False when --modes was not given: then a mode the agent cannot run yet (rtt) is left out. */
  readonly modesGiven: boolean;
  readonly agentBin: string;
  readonly bpfStats: boolean;
  readonly maxInterference: number;
  readonly retries: number;
  /** --json FILE: the rounds, summaries and verdicts as JSON besides the printed report. */
  readonly jsonPath: string | undefined;
  /** --round-warm-up S: seconds of unrecorded load at the start of every round (0: none). */
  readonly roundWarmUpSeconds: number;
  /** --perf: `perf record -a` at this many Hz around every round's measured load; undefined: no perf. */
  readonly perfFrequencyHz: number | undefined;
}

interface MeasuredLoad {
  readonly load: LoadMeasure;
  readonly interference: Interference;
  readonly machineCpuSeconds: number;
  readonly perf?: PerfRoundShares;
}

const AGENT_VALIDATE_TIMEOUT_MS = 60_000;
/** The agent counts as idle below 5% of a core over 250 ms. */
const IDLE_WINDOW_MS = 250;
const IDLE_FRACTION = 0.05;
const CATCH_UP_TIMEOUT_MS = 60_000;
const PAUSE_BETWEEN_ROUNDS_MS = 1000;
const WARM_UP_SECONDS = 2;
/**
 * Every round starts with this much of its load, unrecorded. A fresh agent spends its first
 * events compiling its hot path (V8's JIT), a cost a running agent paid long ago: the rounds
 * measure the tracer's steady state. Off rounds get the same warm-up, so that every mode starts
 * its measured load from the same machine state (sockets in TIME_WAIT included).
 */
const ROUND_WARM_UP_SECONDS = 1;

// The peers that do what each load's tcpscope modes do: per-connection records (tcplife,
// tcpstates) and in-kernel lifetime histograms beside churn; per-segment srtt beside ping-pong.
const DEFAULT_MODES: Readonly<Record<LoadKind, readonly Mode[]>> = {
  churn: ['off', 'metrics', 'events', 'peer:tcplife', 'peer:tcpstates', 'peer:bpftrace-lifetime'],
  pingpong: ['off', 'metrics', 'rtt', 'peer:bpftrace-srtt'],
};

const USAGE = `usage: npm run bench -- [options]   (as root, after npm run build)

  --load KIND       churn (default): connect, send, close, repeated;
                    pingpong: request/response round trips on long-lived connections
  --connections N   churn: connections per round at most (default 300000);
                    pingpong: long-lived connections (default ${DEFAULT_PINGPONG_OPTIONS.connections})
  --round-trips N   pingpong: round trips per round at most (default ${DEFAULT_PINGPONG_OPTIONS.roundTrips})
  --seconds S       seconds per round at most (default 5); a round stops at whichever comes first
  --rounds R        rounds of each mode (default 5); modes alternate, rotated each round
  --workers W       load worker threads, each with its own server (default: max(2, nproc))
  --concurrency C   churn: connections in flight per worker (default ${DEFAULT_CHURN_OPTIONS.concurrency})
  --modes LIST      comma-separated list of ${MODE_SYNTAX} (ratios need off); default
                    churn: ${DEFAULT_MODES.churn.join(',')}; pingpong: ${DEFAULT_MODES.pingpong.join(',')}, rtt left out
                    (with a note) while the agent refuses the tcp_rtt config
                    metrics: tcp_lifecycle -> file; events: plus its logs pipeline;
                    rtt: tcp_rtt -> file; anomalies: tcp_anomalies -> files (metrics,
                    events); capture: packet_capture with no capture running;
                    capture-watch: its trigger watch on every packet; otlp, otlp-gzip: events with the otlp
                    exporter (compression none / gzip) to a loopback OTLP/gRPC receiver
                    that only counts (bench/otlp_sink.ts, its CPU reported apart);
                    sampled:R: events through a sampling
                    processor (hash ratio R) pushed down into the kernel;
                    userspace-sampled:R: the same with sampling_pushdown: false;
                    peer:NAME: a peer tool under the same load instead of the agent
                    (tcplife, tcpstates: libbpf-tools; bpftrace-lifetime, bpftrace-srtt:
                    bench/bpftrace/*.bt); with default modes a peer not installed is
                    left out with a note
  --agent FILE      agent launcher, an executable (default bin/tcpscope)
  --max-interference F  rerun a round when other processes used more than this fraction of
                    all CPUs while its load ran (default 0.03)
  --retries N       reruns per round at most (default 2); the last attempt is kept either way
  --json FILE       also write the rounds, the summary and the verdicts to FILE as JSON
  --round-warm-up S seconds of unrecorded load at the start of every round, off rounds too
                    (default ${ROUND_WARM_UP_SECONDS}, 0 with sampled modes; 0: none): tracers are measured warm,
                    past their JIT compilation
  --bpf-stats       also measure kernel time per BPF program (sets kernel.bpf_stats_enabled=1
                    for the run, which adds ~2 clock reads per program run to every mode)
  --perf            also sample the whole machine with perf record -a during every round's load
                    (off rounds too) and report the tracer's share of the machine's CPU: its
                    BPF programs and runtime, its allocations against off, its own process
                    (needs perf: Debian linux-perf; needs off in --modes)
  --perf-frequency HZ  samples per second per CPU with --perf (default ${DEFAULT_PERF_FREQUENCY_HZ})
`;

function parseOptions(argv: readonly string[]): BenchOptions | undefined {
  if (argv.includes('--help') || argv.includes('-h')) return undefined;
  const args = parseArgs(
    argv,
    ['load', 'connections', 'round-trips', 'seconds', 'rounds', 'workers', 'concurrency', 'modes', 'agent', 'max-interference', 'retries', 'json', 'round-warm-up', 'perf-frequency'],
    ['bpf-stats', 'perf'],
  );
  const integer = (name: string, fallback: number, max: number) => {
    const value = numberArg(args, name, fallback);
    if (!Number.isInteger(value) || value > max) throw new Error(`--${name} must be an integer from 1 to ${max}`);
    return value;
  };
  const kind = args.get('load') ?? 'churn';
  if (!(LOAD_KINDS as readonly string[]).includes(kind)) throw new Error(`--load takes one of ${LOAD_KINDS.join(', ')} (got "${kind}")`);
  const notFor = (name: string, load: LoadKind) => {
    if (args.has(name)) throw new Error(`--${name} does not apply to --load ${load}`);
  };
  const seconds = numberArg(args, 'seconds', 5);
  const modesGiven = args.has('modes');
  const modeTexts = (args.get('modes') ?? DEFAULT_MODES[kind as LoadKind].join(',')).split(',').map((m) => m.trim());
  const modes = modeTexts.map(parseMode);
  if (modes.some((m) => m === undefined) || modes.length === 0) {
    throw new Error(`--modes takes a comma-separated list of ${MODE_SYNTAX}, R from 0 to 1 (got "${args.get('modes')}")`);
  }
  if (seconds > 600) throw new Error('--seconds must be at most 600');
  if (args.has('perf-frequency') && !args.has('perf')) throw new Error('--perf-frequency applies only with --perf');
  const perfFrequencyHz = args.has('perf') ? integer('perf-frequency', DEFAULT_PERF_FREQUENCY_HZ, 20_000) : undefined;
  if (perfFrequencyHz !== undefined && !modes.includes('off')) {
    throw new Error('--perf needs off in --modes: allocation shares and symbol deltas are given against the off rounds');
  }
  // Sampled modes derive what reached the agent from the kernel's sampled-out count, which is
  // cumulative over the agent's run: a warm-up would be counted in it. So no warm-up with them.
  const sampled = modes.some((m) => m !== undefined && samplingOf(m) !== undefined);
  if (sampled && args.has('round-warm-up') && args.get('round-warm-up') !== '0') {
    throw new Error('--round-warm-up cannot be used with sampled modes: their kept fraction comes from the kernel\'s cumulative sampled-out count, which a warm-up would inflate');
  }
  const roundWarmUpSeconds = sampled || args.get('round-warm-up') === '0' ? 0 : numberArg(args, 'round-warm-up', ROUND_WARM_UP_SECONDS);
  if (roundWarmUpSeconds > 60) throw new Error('--round-warm-up must be from 0 to 60 seconds');
  let load: LoadSpec;
  if (kind === 'churn') {
    notFor('round-trips', 'churn');
    load = {
      kind: 'churn',
      options: {
        ...DEFAULT_CHURN_OPTIONS,
        connections: integer('connections', 300_000, 100_000_000),
        seconds,
        workers: integer('workers', DEFAULT_CHURN_OPTIONS.workers, 256),
        concurrency: integer('concurrency', DEFAULT_CHURN_OPTIONS.concurrency, 4096),
      },
    };
  } else {
    notFor('concurrency', 'pingpong');
    load = {
      kind: 'pingpong',
      options: {
        ...DEFAULT_PINGPONG_OPTIONS,
        connections: integer('connections', DEFAULT_PINGPONG_OPTIONS.connections, 4096),
        roundTrips: integer('round-trips', DEFAULT_PINGPONG_OPTIONS.roundTrips, 1e12),
        seconds,
        workers: integer('workers', DEFAULT_PINGPONG_OPTIONS.workers, 256),
      },
    };
    validatePingPong(load.options);
  }
  return {
    load,
    rounds: integer('rounds', 5, 50),
    // In the canonical order whatever the order given, so that rotation works the same.
    modes: canonicalOrder(modes as Mode[]),
    modesGiven,
    agentBin: args.get('agent') ?? join(PACKAGE_ROOT, 'bin', 'tcpscope'),
    bpfStats: args.has('bpf-stats'),
    maxInterference: numberArg(args, 'max-interference', 0.03),
    retries: args.get('retries') === '0' ? 0 : integer('retries', 2, 10),
    jsonPath: args.get('json'),
    roundWarmUpSeconds,
    perfFrequencyHz,
  };
}

/**
 * The round's unrecorded warm-up load; with a tracer, then waits until it has caught up, so that
 * none of the warm-up's work falls into the measured CPU.
 */
async function warmUpRound(options: BenchOptions, tracerPid?: number): Promise<void> {
  if (options.roundWarmUpSeconds === 0) return;
  await runLoad(withSeconds(options.load, options.roundWarmUpSeconds));
  if (tracerPid !== undefined) await waitUntilIdle(tracerPid, IDLE_WINDOW_MS, IDLE_FRACTION, CATCH_UP_TIMEOUT_MS);
}

function checkPrerequisites(options: BenchOptions): void {
  if (process.getuid?.() !== 0) throw new Error('run as root: the agent loads BPF programs and the benchmark reads its /proc entries');
  const script = LOAD_SCRIPTS[options.load.kind];
  if (!existsSync(script)) throw new Error(`${script} is missing: run npm run build first`);
  if (!existsSync(options.agentBin)) throw new Error(`agent launcher ${options.agentBin} not found`);
  if (!existsSync(join(PACKAGE_ROOT, 'dist', 'src', 'cli.js'))) throw new Error('the agent is not built: run npm run build first');
  if (options.perfFrequencyHz !== undefined) checkPerfAvailable();
}

/** The measured load; with `perf`, its events are on from just before the load to just after it. */
async function measuredLoad(spec: LoadSpec, perf?: PerfRecording): Promise<MeasuredLoad> {
  await perf?.enable();
  const monitor = new InterferenceMonitor(availableParallelism());
  const busyBefore = machineBusySeconds();
  try {
    const load = await runLoad(spec);
    const machineCpuSeconds = machineBusySeconds() - busyBefore;
    const interference = monitor.stop();
    await perf?.disable();
    perf?.setBenchPids(monitor.benchPids);
    return { load, interference, machineCpuSeconds };
  } catch (error) {
    monitor.stop();
    throw error;
  }
}

/** `perf record -a` for one round (events off until measuredLoad), or undefined without --perf. */
function startPerf(options: BenchOptions, dir: string): PerfRecording | undefined {
  return options.perfFrequencyHz === undefined ? undefined : PerfRecording.start(dir, options.perfFrequencyHz);
}

/**
 * Stops the round's perf (SIGINT, waited for). After a failure the round's error is the one
 * worth reporting: perf's own is then written to stderr only.
 */
async function stopPerf(perf: PerfRecording | undefined, failed: boolean): Promise<void> {
  if (!perf) return;
  if (!failed) return perf.stop();
  await perf.stop().catch((error: unknown) => process.stderr.write(`bench: stopping perf: ${error instanceof Error ? error.message : String(error)}\n`));
}

/** The round with the agent off: the warm-up, then the measured load (perf around it with --perf). */
async function runOffRound(options: BenchOptions, dir: string): Promise<MeasuredLoad> {
  await warmUpRound(options);
  const perf = startPerf(options, dir);
  let measured: MeasuredLoad;
  let failed = true;
  try {
    measured = await measuredLoad(options.load, perf);
    failed = false;
  } finally {
    await stopPerf(perf, failed);
  }
  return perf ? { ...measured, perf: await perf.classify({ tracerPid: undefined, tracerProgramTags: new Set() }) } : measured;
}

/** `tcpscope validate` on a mode's config: undefined when the agent accepts it, else why not. */
function agentRefuses(mode: AgentMode, agentBin: string, dir: string): string | undefined {
  const configPath = join(dir, `validate-${mode}.yaml`);
  writeFileSync(configPath, agentConfig(mode, dir));
  const [command, ...prefix] = agentBin.endsWith('.js') ? [process.execPath, agentBin] : [agentBin];
  const result = spawnSync(command, [...prefix, 'validate', '--config', configPath], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: AGENT_VALIDATE_TIMEOUT_MS,
  });
  if (result.status === 0) return undefined;
  if (result.error) return result.error.message;
  return (result.stderr.trim() || result.stdout.trim() || `exit ${result.status ?? result.signal}`).split('\n').slice(-5).join('\n');
}

/**
 * Checks every agent mode's config before the first round, so that a refused config fails in
 * seconds rather than after the rounds before it. Returns the modes to run: with default modes,
 * rtt is left out (with the reason in `notes`) while the agent does not accept tcp_rtt.
 */
function checkAgentConfigs(options: BenchOptions, dir: string, notes: string[]): Mode[] {
  const modes: Mode[] = [];
  for (const mode of options.modes) {
    const peer = peerOf(mode);
    if (peer) {
      const missing = peerUnavailable(PEERS[peer]);
      if (missing === undefined) modes.push(mode);
      else if (!options.modesGiven) notes.push(`mode ${mode} left out: ${missing}`);
      else throw new Error(`mode ${mode}: ${missing}`);
      continue;
    }
    const refused = mode === 'off' ? undefined : agentRefuses(mode as AgentMode, options.agentBin, dir);
    if (refused === undefined) {
      modes.push(mode);
    } else if (mode === 'rtt' && !options.modesGiven) {
      notes.push(`mode rtt left out: the agent refuses its config (${refused.replace(/\s+/g, ' ')})`);
    } else {
      throw new Error(`the agent refuses the config of mode ${mode}:\n${refused}`);
    }
  }
  return modes;
}

function bpfDelta(before: readonly BpfProgramRuns[], after: readonly BpfProgramRuns[]): BpfRuns[] {
  const names = bpfProgramNames(after.map((p) => p.id));
  return after.map((p) => {
    const start = before.find((b) => b.id === p.id);
    return {
      name: names.get(p.id) ?? `prog ${p.id}`,
      runTimeNs: p.runTimeNs - (start?.runTimeNs ?? 0),
      runCount: p.runCount - (start?.runCount ?? 0),
    };
  });
}

/**
 * A peer tool in place of the agent, measured the same way: started and awaited until attached,
 * CPU from /proc around the load and its catch-up, peak RSS, then stopped by pid with SIGINT and
 * its output counted: records of the load's connections, and the events it says it lost.
 */
async function runPeerRound(mode: Mode, options: BenchOptions, dir: string): Promise<MeasuredLoad & { agent: AgentMeasurements }> {
  const peer = PEERS[peerOf(mode) as NonNullable<ReturnType<typeof peerOf>>];
  // The peers are C programs with nothing to compile at run time, and the bpftrace scripts count
  // host-wide from their start: their warm-up load runs before they start.
  await warmUpRound(options);
  const tool = await PeerProcess.start(peer, AGENT_ATTACH_TIMEOUT_MS);
  let measured: MeasuredLoad;
  let cpu: number;
  let peakRssBytes: number;
  let catchUpSeconds: number;
  let output: { stdout: string; stderr: string };
  let perf: PerfRecording | undefined;
  let tags: Set<string> | undefined;
  let failed = true;
  try {
    await sleep(AGENT_SETTLE_MS);
    perf = startPerf(options, dir);
    if (perf) tags = await tracerProgramTags(tool.pid);
    const cpuBefore = tool.cpuSeconds();
    measured = await measuredLoad(options.load, perf);
    const busyAtLoadEnd = machineBusySeconds();
    catchUpSeconds = await waitUntilIdle(tool.pid, IDLE_WINDOW_MS, IDLE_FRACTION, CATCH_UP_TIMEOUT_MS);
    measured = { ...measured, machineCpuSeconds: measured.machineCpuSeconds + machineBusySeconds() - busyAtLoadEnd };
    cpu = tool.cpuSeconds() - cpuBefore;
    peakRssBytes = memoryUse(tool.pid).peakRssBytes;
    output = await tool.stop();
    failed = false;
  } finally {
    tool.kill();
    await stopPerf(perf, failed);
  }
  if (perf) measured = { ...measured, perf: await perf.classify({ tracerPid: tool.pid, tracerProgramTags: tags }) };
  const { load } = measured;
  const records = peer.countRecords(output.stdout, new Set(load.serverPorts));
  const expected = peer.recordsPerConnection === undefined ? undefined : peer.recordsPerConnection * load.connections;
  return {
    ...measured,
    agent: {
      cpuSeconds: cpu,
      peakRssBytes,
      catchUpSeconds,
      closedConnections: undefined,
      // The tool's own count of what it lost (ring or perf buffer full), in the agent's column.
      droppedEvents: lostEvents(output.stdout + output.stderr),
      sampledOutEvents: undefined,
      events: { expected, offered: expected ?? records, intoAgent: records, exported: records, byName: { records }, exportedAll: records },
    },
  };
}

const SINK_START_TIMEOUT_MS = 30_000;
const SINK_STOP_TIMEOUT_MS = 30_000;

/** bench/otlp_sink.ts as a process of its own: its CPU is measured apart from the agent's. */
class OtlpSink {
  private constructor(
    readonly pid: number,
    readonly endpoint: string,
    private readonly resultPath: string,
    private readonly exited: Promise<void>,
    private readonly child: ReturnType<typeof spawnTracked>,
  ) {}

  static async start(dir: string): Promise<OtlpSink> {
    const resultPath = join(dir, 'otlp-sink.json');
    const child = spawnTracked(process.execPath, [join(PACKAGE_ROOT, 'dist', 'bench', 'otlp_sink.js'), resultPath], { stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const port = await new Promise<number>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`otlp sink did not listen within ${SINK_START_TIMEOUT_MS} ms`)), SINK_START_TIMEOUT_MS);
      child.stdout!.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const match = /listening (\d+)/.exec(out);
        if (match) {
          clearTimeout(timer);
          resolve(Number(match[1]));
        }
      });
      void exited.then(() => {
        clearTimeout(timer);
        reject(new Error('otlp sink exited before listening'));
      });
    });
    return new OtlpSink(child.pid!, `127.0.0.1:${port}`, resultPath, exited, child);
  }

  /** Stops it by pid and returns what it counted of the load's connections. */
  async stop(serverPorts: readonly number[]): Promise<SinkCounts> {
    writeFileSync(`${this.resultPath}.ports`, JSON.stringify(serverPorts));
    this.child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.exited, new Promise<void>((_, reject) => (timer = setTimeout(() => reject(new Error('otlp sink did not exit')), SINK_STOP_TIMEOUT_MS)))]);
    clearTimeout(timer);
    return JSON.parse(readFileSync(this.resultPath, 'utf8')) as SinkCounts;
  }

  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}

async function runAgentRound(mode: AgentMode, options: BenchOptions, dir: string): Promise<MeasuredLoad & { agent: AgentMeasurements }> {
  const configPath = join(dir, 'config.yaml');
  const sink = isOtlp(mode) ? await OtlpSink.start(dir) : undefined;
  try {
    return await runAgentRoundWith(mode, options, dir, configPath, sink);
  } finally {
    sink?.kill();
  }
}

async function runAgentRoundWith(mode: AgentMode, options: BenchOptions, dir: string, configPath: string, sink: OtlpSink | undefined): Promise<MeasuredLoad & { agent: AgentMeasurements }> {
  writeFileSync(configPath, agentConfig(mode, dir, sink?.endpoint));
  const agent = await AgentProcess.start(options.agentBin, configPath, AGENT_ATTACH_TIMEOUT_MS);
  let sinkCpuBefore = 0;
  let sinkCpu: number | undefined;
  let load: LoadMeasure;
  let interference: Interference;
  let machineCpuSeconds: number;
  let cpu: number;
  let peakRssBytes: number;
  let catchUpSeconds: number;
  let bpf: BpfRuns[] | undefined;
  let perf: PerfRecording | undefined;
  let tags: Set<string> | undefined;
  let failed = true;
  try {
    await sleep(AGENT_SETTLE_MS);
    await warmUpRound(options, agent.pid);
    perf = startPerf(options, dir);
    if (perf) tags = await tracerProgramTags(agent.pid);
    const cpuBefore = cpuSeconds(agent.pid);
    if (sink) sinkCpuBefore = cpuSeconds(sink.pid);
    const bpfBefore = options.bpfStats ? bpfProgramRuns(agent.pid) : [];
    ({ load, interference, machineCpuSeconds } = await measuredLoad(options.load, perf));
    const bpfAfterLoad = options.bpfStats ? bpfProgramRuns(agent.pid) : [];
    const busyAtLoadEnd = machineBusySeconds();
    catchUpSeconds = await agent.waitUntilIdle(IDLE_WINDOW_MS, IDLE_FRACTION, CATCH_UP_TIMEOUT_MS);
    // The agent's catch-up work is part of what these connections cost the machine.
    machineCpuSeconds += machineBusySeconds() - busyAtLoadEnd;
    // Just before SIGTERM: all of it is gone once the process exits.
    cpu = cpuSeconds(agent.pid) - cpuBefore;
    if (sink) sinkCpu = cpuSeconds(sink.pid) - sinkCpuBefore;
    peakRssBytes = memoryUse(agent.pid).peakRssBytes;
    if (options.bpfStats) bpf = bpfDelta(bpfBefore, bpfAfterLoad);
    await agent.stop(AGENT_STOP_TIMEOUT_MS);
    failed = false;
  } finally {
    agent.kill();
    await stopPerf(perf, failed);
  }
  const perfShares = perf ? await perf.classify({ tracerPid: agent.pid, tracerProgramTags: tags }) : undefined;
  const metrics = await readFinalMetrics(join(dir, 'metrics.jsonl'));
  // The one logs exporter's kernel -> hand-off delays, cumulative over the agent's run (the load and its catch-up).
  const eventDelay = hasEvents(mode) ? await readEventDelay(join(dir, 'metrics.jsonl')) : undefined;
  let events: AgentMeasurements['events'];
  if (hasEvents(mode)) {
    // The sink is stopped after the agent: what the exporter delivered at shutdown is counted too.
    const counts = sink ? await sink.stop(load.serverPorts) : await countLogRecords(join(dir, 'logs.jsonl'), new Set(load.serverPorts));
    // connect + accept + a close on each side (or the closes alone), for every completed connection.
    const offered = eventsPerConnection(mode) * load.connections;
    events = {
      expected: samplingOf(mode) ? undefined : offered,
      offered,
      // What the kernel sampled out counts all traffic of the host; the load is nearly all of it.
      intoAgent: Math.max(0, offered - (metrics.sampledOutEvents ?? 0)),
      exported: counts.oursTotal,
      byName: counts.ours,
      exportedAll: counts.total,
    };
  }
  return {
    load,
    interference,
    machineCpuSeconds,
    ...(perfShares ? { perf: perfShares } : {}),
    agent: {
      cpuSeconds: cpu,
      peakRssBytes,
      catchUpSeconds,
      closedConnections: metrics.closedConnections,
      droppedEvents: metrics.droppedEvents,
      sampledOutEvents: metrics.sampledOutEvents,
      rttSamples: mode === 'rtt' ? metrics.rttSamples : undefined,
      events,
      ...(eventDelay !== undefined ? { eventDelay } : {}),
      ...(sinkCpu !== undefined ? { otlpReceiverCpuSeconds: sinkCpu } : {}),
      bpf,
    },
  };
}

function describeRound(result: RoundResult): string {
  const parts = [
    ...describeMeasure(result.load),
    `other processes ${(result.interference.fraction * 100).toFixed(1)}% CPU`,
  ];
  if (result.load.errors) parts.push(`${result.load.errors} socket errors`);
  const agent = result.agent;
  if (agent) {
    parts.push(`agent ${agent.cpuSeconds.toFixed(2)} CPU s`, `peak RSS ${(agent.peakRssBytes / 1048576).toFixed(1)} MB`);
    if (agent.otlpReceiverCpuSeconds !== undefined) parts.push(`otlp receiver ${agent.otlpReceiverCpuSeconds.toFixed(2)} CPU s (not the agent's)`);
    if (agent.catchUpSeconds > IDLE_WINDOW_MS / 1000 + 0.05) parts.push(`caught up ${agent.catchUpSeconds.toFixed(2)} s after the load`);
    if (agent.closedConnections !== undefined) parts.push(`kernel counted ${agent.closedConnections} closes`);
    if (agent.rttSamples !== undefined) parts.push(`kernel counted ${agent.rttSamples} RTT samples`);
    if (agent.events) {
      const kept = `${((agent.events.exported / agent.events.offered) * 100).toFixed(2)}% kept`;
      parts.push(`events ${agent.events.exported}/${agent.events.expected ?? agent.events.offered} (${JSON.stringify(agent.events.byName)}; ${kept})`);
    }
    if (agent.eventDelay) {
      const ms = (q: number) => ((delayQuantile(agent.eventDelay, q) ?? NaN) * 1000).toFixed(1);
      parts.push(`event delay p50 ${ms(0.5)} ms, p99 ${ms(0.99)} ms (bucket-interpolated), max ${((agent.eventDelay.max ?? NaN) * 1000).toFixed(1)} ms`);
    }
    if (agent.sampledOutEvents) parts.push(`sampled out in the kernel ${agent.sampledOutEvents}`);
    parts.push(`dropped_events ${agent.droppedEvents ?? 'not exported'}`);
  }
  if (result.perf) {
    const { counts, busy, samples } = result.perf;
    const pct = (n: number) => `${((n / busy) * 100).toFixed(2)}%`;
    parts.push(
      `perf ${samples} samples: BPF ${pct(counts.tracerPrograms + counts.bpfRuntime)}, tracer process ${pct(counts.tracerProcess)}, ` +
        `alloc/free/RCU/clock ${pct(counts.allocation)}, perf ${pct(counts.perf)} of busy`,
    );
  }
  return parts.join(', ');
}

function machineDescription(): string[] {
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  let commit = 'unknown';
  try {
    commit = execFileSync('git', ['-C', PACKAGE_ROOT, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty = execFileSync('git', ['-C', PACKAGE_ROOT, 'status', '--porcelain', '--untracked-files=no'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    if (dirty.trim() !== '') commit += ' (with uncommitted changes)';
  } catch {
    // not a git checkout
  }
  return [
    `machine: ${availableParallelism()} CPUs (${cpu}), ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM, kernel ${release()}, node ${process.version}`,
    `agent: ${commit}`,
  ];
}

/**
 * Where the rounds' files go: tmpfs (/dev/shm) when there is one, so that writing the events
 * modes' OTLP/JSON (hundreds of MB a round) costs the machine memory copies only, as the targets
 * assume (the file exporter's output as good as /dev/null), and not a disk's journal, writeback
 * and discards, which a disk-backed temp dir charges to the events mode's connections/s after
 * the fact. TMPDIR still wins when set.
 */
function benchTmpDir(): string {
  if (process.env.TMPDIR) return tmpdir();
  try {
    accessSync('/dev/shm', constants.W_OK);
    return '/dev/shm';
  } catch {
    return tmpdir();
  }
}

async function main(argv: readonly string[]): Promise<number> {
  const options = parseOptions(argv);
  if (!options) {
    process.stdout.write(USAGE);
    return 0;
  }
  checkPrerequisites(options);
  const tmpRoot = mkdtempSync(join(benchTmpDir(), 'tcpscope-bench-'));
  const removeTmp = () => rmSync(tmpRoot, { recursive: true, force: true });
  // Before the temp dir goes: perf writes its data file there until it has exited.
  onExit(stopAllPerfRecordings);
  onExit(removeTmp);
  const statsWere = bpfStatsEnabled();
  const restoreStats = () => {
    if (options.bpfStats && !statsWere) setBpfStatsEnabled(false);
  };
  onExit(restoreStats);
  const began = Date.now();
  const notes: string[] = [];
  const modes = checkAgentConfigs(options, tmpRoot, notes);
  notes.push(
    options.roundWarmUpSeconds > 0
      ? `every round starts with ${options.roundWarmUpSeconds} s of its load, unrecorded (tracers measured warm; --round-warm-up)`
      : 'no warm-up load in the rounds: tracer figures include their first events (JIT compilation)',
  );
  const { load } = options;
  const units = LOAD_UNITS[load.kind];
  const header = [
    `command: node dist/bench/run.js ${argv.join(' ')}`.trimEnd(),
    ...machineDescription(),
    describeLoad(load, options.rounds, modes),
    ...notes.map((note) => `note: ${note}`),
  ];
  process.stdout.write(header.join('\n') + '\n\n');
  try {
    if (options.bpfStats) setBpfStatsEnabled(true);
    process.stderr.write(`warm-up: ${WARM_UP_SECONDS} s of load, not recorded\n`);
    await runLoad(withSeconds(load, WARM_UP_SECONDS));
    let discarded = 0;
    const results: RoundResult[] = [];
    const total = options.rounds * modes.length;
    for (let round = 0; round < options.rounds; round++) {
      // Rotated order: over as many rounds as there are modes, each mode runs once in each position.
      const order = modes.map((_, i) => modes[(i + round) % modes.length]);
      for (const mode of order) {
        await sleep(PAUSE_BETWEEN_ROUNDS_MS);
        for (let attempt = 1; ; attempt++) {
          const dir = join(tmpRoot, `${results.length + 1}-${mode}-${attempt}`);
          mkdirSync(dir);
          let result: RoundResult;
          try {
            const measured =
              mode === 'off'
                ? await runOffRound(options, dir)
                : peerOf(mode)
                  ? await runPeerRound(mode, options, dir)
                  : await runAgentRound(mode as AgentMode, options, dir);
            result = { mode, round, attempts: attempt, ...measured };
          } finally {
            // Event files run to hundreds of MB per round: not kept.
            rmSync(dir, { recursive: true, force: true });
          }
          const label = `[${results.length + 1}/${total}] ${modeLabel(mode)}`;
          if (result.interference.fraction > options.maxInterference && attempt <= options.retries) {
            process.stderr.write(
              `${label}: other processes used ${(result.interference.fraction * 100).toFixed(1)}% of the CPUs ` +
                `(${result.interference.top.join(', ')}); discarded, running it again\n`,
            );
            discarded++;
            await sleep(PAUSE_BETWEEN_ROUNDS_MS);
            continue;
          }
          results.push(result);
          process.stderr.write(`${label}: ${describeRound(result)}\n`);
          break;
        }
      }
    }
    const summaries = summarize(results, units);
    const out = [
      'rounds, in the order run:',
      roundsTable(results, units),
      '',
      `summary (ratio vs off = median ${units.plural}/s / median with the agent off; paired ratio = median of each round / mean of the nearest off rounds before and after it):`,
      summaryTable(summaries, units),
    ];
    const bpf = bpfTable(results, units);
    if (bpf) {
      out.push(
        '',
        'CPU spent on the agent\'s behalf during the load (BPF run time from kernel.bpf_stats_enabled; share = of all busy CPU ' +
          'of the machine; not included: syscall-tracepoint slow path, wake-up IPIs, cache effects):',
        bpf,
      );
    }
    const perfSummaries = options.perfFrequencyHz === undefined ? undefined : summarizePerf(results);
    if (perfSummaries) {
      out.push(
        '',
        `tracer share of the machine's CPU (--perf: perf record -a -F ${options.perfFrequencyHz} during each round's load, off rounds too; ` +
          'shares of busy samples, medians over rounds; (a) the tracer\'s bpf_prog_* symbols, (b) BPF runtime and maps, (d) the tracer\'s own process, ' +
          '(c) allocation/free/RCU/clock reads minus the off rounds\' mean; total = (a)+(b)+(c)+(d), spread min-max over rounds; off shows the floor; ' +
          `the total also as CPU us per ${units.singular}, which other processes' CPU does not dilute):`,
        perfTable(perfSummaries, units),
        '',
        'symbols whose share of the benchmark\'s busy samples rose most against the off rounds (means over rounds; other processes left out):',
        perfSymbolsTable(perfSummaries),
      );
    }
    const noisy = results.filter((r) => r.interference.fraction > options.maxInterference).length;
    out.push(
      '',
      `interference: ${discarded} attempt(s) discarded because other processes used more than ${(options.maxInterference * 100).toFixed(0)}% of the CPUs; ` +
        `${noisy} kept round(s) still above it (retries exhausted)`,
    );
    const verdictList = verdicts(summaries, load.kind);
    out.push('', `targets (docs/architecture.md#benchmarks; RSS target ${TARGETS.peakRssBytes / 1048576} MB):`, verdictLines(verdictList));
    out.push('', `finished in ${((Date.now() - began) / 1000).toFixed(0)} s`);
    process.stdout.write(out.join('\n') + '\n');
    if (options.jsonPath) {
      const report = {
        header,
        units,
        rounds: results,
        summary: summaries,
        ...(perfSummaries ? { perf: perfSummaries } : {}),
        verdicts: verdictList,
        discarded,
        finishedSeconds: (Date.now() - began) / 1000,
      };
      writeFileSync(options.jsonPath, JSON.stringify(report, null, 2) + '\n');
      process.stderr.write(`bench: wrote ${options.jsonPath}\n`);
    }
    return 0;
  } finally {
    restoreStats();
    removeTmp();
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`bench: ${error instanceof Error ? error.message : String(error)}\n`);
    // Exits now rather than when the event loop drains: the 'exit' handler kills any child left.
    process.exit(1);
  },
);
