// What /proc says about a running process: CPU seconds, memory high-water mark, and the run time
// of the BPF programs it holds. Read while the process is alive (all of it is gone at exit).
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';

let ticksPerSecond: number | undefined;

/** USER_HZ, the unit of utime/stime in /proc/<pid>/stat (100 on every common kernel config). */
export function clockTicksPerSecond(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** utime + stime of the process (all its threads), in seconds. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // comm (field 2) may hold spaces and parentheses: fields are counted after its closing ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state); utime and stime are fields 14 and 15.
  const utime = Number(fields[14 - 3]);
  const stime = Number(fields[15 - 3]);
  return (utime + stime) / clockTicksPerSecond();
}

export interface MemoryUse {
  /** Peak resident set size (VmHWM). */
  readonly peakRssBytes: number;
  readonly rssBytes: number;
}

export function memoryUse(pid: number): MemoryUse {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name: string) => {
    const match = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status);
    if (!match) throw new Error(`no ${name} in /proc/${pid}/status`);
    return Number(match[1]) * 1024;
  };
  return { peakRssBytes: kb('VmHWM'), rssBytes: kb('VmRSS') };
}

export interface BpfProgramRuns {
  readonly id: number;
  /** Cumulative time in the program; only counted while kernel.bpf_stats_enabled is 1. */
  readonly runTimeNs: number;
  readonly runCount: number;
}

/** The BPF programs whose file descriptors `pid` holds, with their run statistics (fdinfo). */
export function bpfProgramRuns(pid: number): BpfProgramRuns[] {
  const result = new Map<number, BpfProgramRuns>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    let target: string;
    try {
      target = readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      continue; // closed meanwhile
    }
    if (target !== 'anon_inode:bpf-prog') continue;
    let info: string;
    try {
      info = readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8');
    } catch {
      continue;
    }
    const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(info)?.[1] ?? NaN);
    const id = field('prog_id');
    if (Number.isFinite(id)) result.set(id, { id, runTimeNs: field('run_time_ns'), runCount: field('run_cnt') });
  }
  return [...result.values()];
}

/** Program names by id from bpftool (fdinfo has no name); empty when bpftool is not installed. */
export function bpfProgramNames(ids: readonly number[]): Map<number, string> {
  const names = new Map<number, string>();
  try {
    const json = execFileSync('bpftool', ['--json', 'prog', 'show'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    for (const prog of JSON.parse(json) as { id?: number; name?: string }[]) {
      if (prog.id !== undefined && prog.name !== undefined && ids.includes(prog.id)) names.set(prog.id, prog.name);
    }
  } catch {
    // Names are a convenience; ids identify the programs well enough.
  }
  return names;
}

const BPF_STATS_SYSCTL = '/proc/sys/kernel/bpf_stats_enabled';

/** Current value of kernel.bpf_stats_enabled (run_time_ns/run_cnt are counted only when 1). */
export function bpfStatsEnabled(): boolean {
  return readFileSync(BPF_STATS_SYSCTL, 'utf8').trim() === '1';
}

export function setBpfStatsEnabled(enabled: boolean): void {
  writeFileSync(BPF_STATS_SYSCTL, enabled ? '1' : '0');
}

/** The whole machine's CPU time since boot, in clock ticks, by kind (/proc/stat's `cpu` line). */
export interface MachineCpuTicks {
  readonly user: number;
  readonly nice: number;
  readonly system: number;
  readonly irq: number;
  readonly softirq: number;
  readonly steal: number;
}

export function machineCpuTicks(): MachineCpuTicks {
  const [user, nice, system, , , irq, softirq, steal = 0] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  return { user, nice, system, irq, softirq, steal };
}

/** CPU seconds the hypervisor gave to others while this machine's CPUs wanted to run (steal), since boot. */
export function machineStealSeconds(): number {
  return machineCpuTicks().steal / clockTicksPerSecond();
}

/** CPU seconds all CPUs spent busy since boot (user, nice, system, irq, softirq; not idle or steal). */
export function machineBusySeconds(): number {
  const t = machineCpuTicks();
  return (t.user + t.nice + t.system + t.irq + t.softirq) / clockTicksPerSecond();
}
