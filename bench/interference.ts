// CPU time used during a round by processes that are not the benchmark's: on a shared 2-core
// machine one compiler run elsewhere takes a large bite out of the load, and a ratio computed
// from such a round is noise. Sampled from /proc while the round runs, so that processes which
// start and end inside it are seen too (up to the sampling interval). CPU time the hypervisor
// gave to other guests (steal) is counted too: it takes from the load just the same.
import { readdirSync, readFileSync } from 'node:fs';
import { clockTicksPerSecond, machineStealSeconds } from './proc_stats';

interface ProcessSample {
  readonly ppid: number;
  readonly comm: string;
  /** utime + stime in clock ticks. */
  readonly ticks: number;
  /** Start time in clock ticks after boot. */
  readonly startTicks: number;
}

function readProcesses(): Map<number, ProcessSample> {
  const result = new Map<number, ProcessSample>();
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    const close = stat.lastIndexOf(')');
    const comm = stat.slice(stat.indexOf('(') + 1, close);
    const fields = stat.slice(close + 2).split(' '); // fields[0] is field 3 (state)
    result.set(pid, {
      ppid: Number(fields[4 - 3]),
      comm,
      ticks: Number(fields[14 - 3]) + Number(fields[15 - 3]),
      startTicks: Number(fields[22 - 3]),
    });
  }
  return result;
}

function bootTicksNow(): number {
  return Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]) * clockTicksPerSecond();
}

interface Tracked {
  comm: string;
  readonly startTicks: number;
  readonly firstTicks: number;
  lastTicks: number;
}

export interface Interference {
  /** CPU seconds used by other processes during the round (kernel threads excluded), and stolen by the hypervisor. */
  readonly cpuSeconds: number;
  /** Of that, stolen by the hypervisor (/proc/stat steal). */
  readonly stealSeconds: number;
  /** That, as a fraction of all CPUs over the round. */
  readonly fraction: number;
  /** The biggest users, "comm: seconds". */
  readonly top: readonly string[];
}

export class InterferenceMonitor {
  private readonly tracked = new Map<number, Tracked>();
  private readonly timer: NodeJS.Timeout;
  private readonly startTicks: number;
  private readonly began = process.hrtime.bigint();
  private readonly stealAtStart = machineStealSeconds();
  /** Every pid seen in the benchmark's process tree or as a kernel thread while sampling (bench --perf leaves the rest out). */
  readonly benchPids = new Set<number>();

  /** Starts sampling every `intervalMs`; the benchmark's own process tree is left out. */
  constructor(
    private readonly cpus: number,
    intervalMs = 500,
  ) {
    this.startTicks = bootTicksNow();
    this.sample();
    this.timer = setInterval(() => this.sample(), intervalMs);
  }

  stop(): Interference {
    clearInterval(this.timer);
    this.sample();
    const seconds = Number(process.hrtime.bigint() - this.began) / 1e9;
    const hz = clockTicksPerSecond();
    const used = [...this.tracked.values()]
      .map((t) => ({ comm: t.comm, seconds: (t.lastTicks - t.firstTicks) / hz }))
      .filter((t) => t.seconds > 0);
    const stealSeconds = Math.max(0, machineStealSeconds() - this.stealAtStart);
    const cpuSeconds = used.reduce((sum, t) => sum + t.seconds, 0) + stealSeconds;
    const byComm = new Map<string, number>();
    for (const t of used) byComm.set(t.comm, (byComm.get(t.comm) ?? 0) + t.seconds);
    if (stealSeconds > 0) byComm.set('steal (hypervisor)', stealSeconds);
    const top = [...byComm.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 3)
      .map(([comm, s]) => `${comm}: ${s.toFixed(2)}`);
    return { cpuSeconds, stealSeconds, fraction: cpuSeconds / (seconds * this.cpus), top };
  }

  private sample(): void {
    const processes = readProcesses();
    const ours = descendantsOf(process.pid, processes);
    for (const [pid, p] of processes) {
      // pid 2 is kthreadd, the parent of every kernel thread: their time is the kernel doing
      // our load's work (softirq, RCU), not interference.
      if (ours.has(pid) || pid === 2 || p.ppid === 2) {
        this.benchPids.add(pid);
        continue;
      }
      const known = this.tracked.get(pid);
      if (known && known.startTicks === p.startTicks) {
        known.lastTicks = p.ticks;
        known.comm = p.comm; // may change at exec (npm -> node)
      } else {
        // First seen (or a reused pid): count from 0 if it started after the round began.
        const firstTicks = p.startTicks >= this.startTicks ? 0 : p.ticks;
        this.tracked.set(pid, { comm: p.comm, startTicks: p.startTicks, firstTicks, lastTicks: p.ticks });
      }
    }
  }
}

function descendantsOf(root: number, processes: ReadonlyMap<number, ProcessSample>): Set<number> {
  const children = new Map<number, number[]>();
  for (const [pid, p] of processes) {
    const list = children.get(p.ppid) ?? [];
    list.push(pid);
    children.set(p.ppid, list);
  }
  const result = new Set<number>([root]);
  const stack = [root];
  while (stack.length > 0) {
    for (const child of children.get(stack.pop() as number) ?? []) {
      if (!result.has(child)) {
        result.add(child);
        stack.push(child);
      }
    }
  }
  return result;
}
