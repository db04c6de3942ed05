// `perf record -a` around exactly a round's measured load, for `npm run bench -- --perf`. perf is
// started before the load with its events disabled (-D -1) and switched on and off through its
// control pipe (--control fd:3,4, which answers "ack"), so that neither perf's start-up (it scans
// every process) nor its exit (it writes its buffers out) falls into the measured window. The
// samples are read back with `perf script` and classified by bench/perf_share.ts; the data file
// lives in the round's temp dir and is deleted once read. perf is stopped with SIGINT and waited
// for on every path: the round's finally, and this process's exit (stopAllPerfRecordings).
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { promisify } from 'node:util';
import { classifySamples, PERF_SCRIPT_FIELDS, type ClassifyContext, type PerfRoundShares } from './perf_share';
import { BPFTOOL, heldProgramIds } from './peers';
import { cpuSeconds } from './proc_stats';

/** Debian ships perf in linux-perf (a wrapper that runs the perf matching the kernel). */
export const PERF_DEBIAN_PACKAGE = 'linux-perf';
/**
 * Samples per second on each CPU. 999 Hz (not a divisor of the timer tick, so sampling does not
 * lock onto periodic kernel work) gives ~10,000 samples per 5 s round on two CPUs: a 2.5% share
 * then has a sampling error of ~0.15 points, below the rounds' spread.
 */
export const DEFAULT_PERF_FREQUENCY_HZ = 999;

const CONTROL_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 60_000;
const SCRIPT_TIMEOUT_MS = 300_000;
const STDERR_KEPT = 8192;

export class PerfUnavailableError extends Error {}

/** Fails with what to install when perf cannot run here (not installed, or no perf for this kernel). */
export function checkPerfAvailable(): void {
  try {
    execFileSync('perf', ['--version'], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 });
  } catch (error) {
    const cause = error as NodeJS.ErrnoException & { stderr?: Buffer };
    const detail = cause.code === 'ENOENT' ? 'perf is not installed' : `perf --version failed: ${(cause.stderr?.toString() ?? cause.message).trim()}`;
    throw new PerfUnavailableError(`--perf needs perf: ${detail}; install the Debian package ${PERF_DEBIAN_PACKAGE} (apt-get install ${PERF_DEBIAN_PACKAGE}) or leave out --perf`);
  }
}

const running = new Set<PerfRecording>();

/**
 * Stops every perf still recording: SIGINT, then waits (synchronously, bounded) for it to exit,
 * SIGKILL after that. For process-exit hooks, where nothing asynchronous runs any more.
 */
export function stopAllPerfRecordings(): void {
  for (const recording of running) recording.stopSync();
}

export class PerfRecording {
  private stderrText = '';
  private ackBuffer = '';
  private ackWaiter: (() => void) | undefined;
  private exitStatus: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  private readonly exited: Promise<void>;
  private cpuAtEnable: number | undefined;
  private perfCpuSeconds: number | undefined;
  private benchPids: ReadonlySet<number> | undefined;

  private constructor(
    private readonly child: ChildProcess,
    readonly dataPath: string,
    readonly frequencyHz: number,
  ) {
    this.exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        this.exitStatus = { code, signal };
        running.delete(this);
        resolve();
      }),
    );
    child.once('error', (error) => {
      this.stderrText += `\n${error.message}`;
      this.exitStatus ??= { code: null, signal: null };
      running.delete(this);
    });
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (this.stderrText = (this.stderrText + chunk).slice(-STDERR_KEPT)));
    const ack = child.stdio[4] as Readable;
    ack.setEncoding('utf8').on('data', (chunk: string) => {
      this.ackBuffer += chunk;
      if (this.ackBuffer.includes('ack\n')) {
        this.ackBuffer = this.ackBuffer.replace('ack\n', '');
        const waiter = this.ackWaiter;
        this.ackWaiter = undefined;
        waiter?.();
      }
    });
    // Neither pipe may keep this process alive or throw when perf goes away first.
    ack.on('error', () => undefined);
    (child.stdio[3] as Writable).on('error', () => undefined);
  }

  /** Starts `perf record -a` with its events off; records into `dir`. */
  static start(dir: string, frequencyHz: number): PerfRecording {
    const dataPath = join(dir, 'perf.data');
    // -B/-N: no build-id collection at exit (it reads every mapped file; symbols come from this
    // machine's own files when the data is read back a moment later).
    const args = ['record', '-a', '-F', String(frequencyHz), '-D', '-1', '--control', 'fd:3,4', '-B', '-N', '-q', '-o', dataPath];
    const child = spawn('perf', args, { stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'] });
    const recording = new PerfRecording(child, dataPath, frequencyHz);
    running.add(recording);
    return recording;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Switches the events on; resolves when perf has acknowledged (it answers once set up). */
  async enable(): Promise<void> {
    await this.command('enable');
    this.cpuAtEnable = this.ownCpuSeconds();
  }

  async disable(): Promise<void> {
    await this.command('disable');
    const now = this.ownCpuSeconds();
    if (now !== undefined && this.cpuAtEnable !== undefined) this.perfCpuSeconds = now - this.cpuAtEnable;
  }

  /** The benchmark's pids seen during the window (bench/interference.ts): samples of other pids are otherProcesses. */
  setBenchPids(pids: ReadonlySet<number>): void {
    this.benchPids = pids;
  }

  private ownCpuSeconds(): number | undefined {
    try {
      return this.child.pid === undefined ? undefined : cpuSeconds(this.child.pid);
    } catch {
      return undefined;
    }
  }

  private async command(command: 'enable' | 'disable'): Promise<void> {
    if (this.exitStatus) throw new Error(`perf record exited (${this.describeExit()}) before "${command}":\n${this.stderrTail()}`);
    let timer: NodeJS.Timeout | undefined;
    const acked = new Promise<'ack'>((resolve) => (this.ackWaiter = () => resolve('ack')));
    (this.child.stdio[3] as Writable).write(`${command}\n`);
    const result = await Promise.race([
      acked,
      this.exited.then(() => 'exited' as const),
      new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), CONTROL_TIMEOUT_MS))),
    ]);
    clearTimeout(timer);
    this.ackWaiter = undefined;
    if (result === 'exited') throw new Error(`perf record exited (${this.describeExit()}) instead of answering "${command}":\n${this.stderrTail()}`);
    if (result === 'timeout') throw new Error(`perf record did not acknowledge "${command}" within ${CONTROL_TIMEOUT_MS / 1000} s:\n${this.stderrTail()}`);
  }

  /** SIGINT (perf writes its data out and exits), then waits; SIGKILL and an error past the timeout. */
  async stop(): Promise<void> {
    if (!this.exitStatus) {
      this.child.kill('SIGINT');
      let timer: NodeJS.Timeout | undefined;
      const result = await Promise.race([this.exited.then(() => 'exited' as const), new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), STOP_TIMEOUT_MS)))]);
      clearTimeout(timer);
      if (result === 'timeout') {
        this.child.kill('SIGKILL');
        await this.exited;
        throw new Error(`perf record did not exit within ${STOP_TIMEOUT_MS / 1000} s of SIGINT:\n${this.stderrTail()}`);
      }
    }
    this.closePipes();
    const { code, signal } = this.exitStatus ?? { code: null, signal: null };
    // perf exits 0 after SIGINT, or re-raises it.
    if (code !== 0 && signal !== 'SIGINT') throw new Error(`perf record failed (${this.describeExit()}):\n${this.stderrTail()}`);
  }

  /** stop() for exit hooks: SIGINT, a bounded synchronous wait for the process to end, then SIGKILL. */
  stopSync(): void {
    const pid = this.child.pid;
    if (this.exitStatus || pid === undefined) return;
    try {
      process.kill(pid, 'SIGINT');
    } catch {
      return; // already gone
    }
    const deadline = Date.now() + 10_000;
    const nap = new Int32Array(new SharedArrayBuffer(4));
    while (Date.now() < deadline && isRunning(pid)) Atomics.wait(nap, 0, 0, 20);
    if (isRunning(pid)) this.child.kill('SIGKILL');
    running.delete(this);
  }

  /** Reads the samples back (`perf script`), classifies them, and deletes the data file. */
  async classify(context: Omit<ClassifyContext, 'perfPid' | 'frequencyHz' | 'benchPids'>): Promise<PerfRoundShares> {
    if (!this.exitStatus) throw new Error('perf record is still running: stop() it before reading its samples');
    try {
      const { stdout } = await promisify(execFile)('perf', ['script', '-i', this.dataPath, '-F', PERF_SCRIPT_FIELDS, '--no-demangle'], {
        encoding: 'utf8',
        maxBuffer: 2 ** 30,
        timeout: SCRIPT_TIMEOUT_MS,
      });
      const shares = classifySamples(stdout.split('\n'), { ...context, perfPid: this.child.pid, benchPids: this.benchPids, frequencyHz: this.frequencyHz });
      return this.perfCpuSeconds === undefined ? shares : { ...shares, perfCpuSeconds: this.perfCpuSeconds };
    } finally {
      rmSync(this.dataPath, { force: true });
      rmSync(`${this.dataPath}.old`, { force: true });
    }
  }

  private closePipes(): void {
    for (const stream of [this.child.stdio[3], this.child.stdio[4]]) stream?.destroy();
  }

  private describeExit(): string {
    return this.exitStatus?.signal ? `signal ${this.exitStatus.signal}` : `exit code ${this.exitStatus?.code ?? 'unknown'}`;
  }

  private stderrTail(): string {
    return this.stderrText.trim().split('\n').slice(-10).join('\n');
  }
}

/** Whether `pid` is alive and not a zombie (our exited child stays a zombie until reaped). */
function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/**
 * Tags of the BPF programs `pid` holds (perf names a JITed program bpf_prog_<tag>_<name>), or
 * undefined when they cannot be read (bpftool missing): then every bpf_prog_ symbol counts as
 * the tracer's.
 */
export async function tracerProgramTags(pid: number): Promise<Set<string> | undefined> {
  const ids = heldProgramIds(pid);
  if (ids.size === 0) return undefined;
  try {
    const { stdout } = await promisify(execFile)(BPFTOOL, ['--json', 'prog', 'show'], { encoding: 'utf8', timeout: 30_000, maxBuffer: 64 * 1024 * 1024 });
    const tags = new Set<string>();
    for (const prog of JSON.parse(stdout) as { id?: number; tag?: string }[]) {
      if (prog.id !== undefined && prog.tag !== undefined && ids.has(prog.id)) tags.add(prog.tag);
    }
    return tags.size > 0 ? tags : undefined;
  } catch {
    return undefined;
  }
}
