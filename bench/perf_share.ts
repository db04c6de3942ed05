// `npm run bench -- --perf`: the share of the machine's CPU a tracer costs, from system-wide
// `perf record -a` samples taken during each round's measured load. Throughput ratios on a shared
// machine swing by more than the metrics-only target's 2% margin; a share of samples counted in
// the same round is far steadier, because the load and the tracer's kernel work are sampled
// together. This module turns `perf script -F pid,ip,sym` text into per-category counts (one
// round) and the rounds into per-mode summaries; bench/perf_record.ts runs perf.
//
// Every sample goes to exactly one category, checked in this order:
//   idle             pid 0 in the idle loop: not part of the machine's busy CPU (the denominator)
//   tracerPrograms   (a) bpf_prog_* symbols of the tracer's programs (by tag; any bpf_prog_ when
//                    the tags are unknown)
//   otherPrograms    bpf_prog_* symbols of programs the tracer does not hold (systemd's, ...)
//   bpfRuntime       (b) kernel code that runs only because a BPF tracer is attached: trace_run
//                    glue, trampolines, map and storage code, BPF helpers, the syscall-tracepoint
//                    slow path, kprobe dispatch
//   tracerProcess    (d) every other sample of the tracer's own process (user and kernel)
//   perf             every other sample of the perf process itself
//   otherProcesses   every other sample of a process outside the benchmark's process tree (other
//                    users of a shared machine; kernel threads and pid 0 count as the benchmark's),
//                    when the tree is known: left out of the benchmark's CPU, not of the machine's
//   allocation       (c) slab, memcg accounting, page allocation, RCU, clock reads (a program's
//                    bpf_ktime_get_ns is a pvclock read in a VM): these run without a tracer
//                    too, so a mode's cost is its share minus the off rounds' mean share
//   other            the rest (the load, the kernel's TCP stack, other processes)
// BPF samples are counted as BPF wherever they ran (mostly in the load's context); the tracer's
// process then gets what is left of its samples.
import { canonicalOrder, type Mode } from './modes';

export type PerfCategory = 'idle' | 'tracerPrograms' | 'otherPrograms' | 'bpfRuntime' | 'tracerProcess' | 'perf' | 'otherProcesses' | 'allocation' | 'other';
export const PERF_CATEGORIES: readonly PerfCategory[] = ['idle', 'tracerPrograms', 'otherPrograms', 'bpfRuntime', 'tracerProcess', 'perf', 'otherProcesses', 'allocation', 'other'];

/** What the symbol alone says about a kernel sample. */
export type SymbolClass = 'idle' | 'bpfProgram' | 'bpfRuntime' | 'allocation' | 'other';

/** Appended to the `symbols` key of a BPF program the tracer does not hold. */
export const OTHER_PROGRAM_SUFFIX = " (not the tracer's)";

/** Keys of user-space samples in `symbols` (their symbols are not needed: who ran them is). */
export const USER_SPACE_KEYS = {
  tracer: '[user space of the tracer process]',
  perf: '[user space of perf]',
  other: '[user space, the load and the rest]',
} as const;

export interface PerfRoundShares {
  /** Samples per second per CPU asked of perf (-F). */
  readonly frequencyHz: number;
  /** Parsed samples, idle included. */
  readonly samples: number;
  /** Lines of perf script output that were not a sample line (should be 0). */
  readonly unparsed: number;
  /** Samples that were not idle: the machine's busy CPU, the denominator of every share. */
  readonly busy: number;
  readonly counts: Readonly<Record<PerfCategory, number>>;
  /**
   * The benchmark's busy samples (otherProcesses left out) by symbol: kernel symbols
   * (bpf_prog_<tag>_ written bpf_prog_*_ so that rounds add up) and USER_SPACE_KEYS for user space.
   */
  readonly symbols: Readonly<Record<string, number>>;
  /**
   * CPU seconds of the perf process itself between "enable" and "disable" (/proc): perf is
   * rarely on a CPU when a sample is taken, so its samples undercount it.
   */
  readonly perfCpuSeconds?: number;
}

export interface ClassifyContext {
  /** The tracer's process id (agent or peer tool); undefined in off rounds. */
  readonly tracerPid: number | undefined;
  readonly perfPid: number | undefined;
  /**
   * Tags of the tracer's BPF programs (bpf_prog_<tag>_<name>); undefined: every bpf_prog_ symbol
   * counts as the tracer's. Off rounds pass an empty set (no tracer, no tracer programs).
   */
  readonly tracerProgramTags: ReadonlySet<string> | undefined;
  /**
   * The benchmark's processes (its tree: load, tracer, perf) and kernel threads; samples of any
   * other pid but 0 are otherProcesses. Undefined: every sample counts as the benchmark's.
   */
  readonly benchPids?: ReadonlySet<number>;
  readonly frequencyHz: number;
}

// The idle loop of the swapper task (pid 0) on x86 and arm64, under hypervisors too.
const IDLE_SYMBOL = /(idle|halt|^cpu_startup_entry$|^mwait|^poll_idle$|^cpuidle_)/;

const BPF_PROGRAM = /^bpf_prog_([0-9a-f]{16})(_|$)/;

// LSM hook stubs are called on every hook whether or not a BPF LSM program is attached.
const NOT_BPF_RUNTIME = /^bpf_lsm_/;
const BPF_RUNTIME = new RegExp(
  [
    '^_{0,3}bpf_', // bpf_trace_run*, __bpf_prog_enter*/exit*, bpf_*storage*, bpf_map_*, bpf_lru_*, bpf_ringbuf_*, helpers, __bpf_trace_<tp>
    '^_{0,2}htab_',
    '^(alloc|free)_htab_elem',
    '^lookup_(nulls_)?elem_raw$', // the hash table's bucket walk
    '^prealloc_lru_pop$',
    '^(ringbuf|stack|queue|bloom|trie|cgroup_storage)_map_',
    '^_{0,3}pcpu_freelist',
    '^(percpu_)?array_map_',
    '^_{0,2}(sk_storage|selem|local_storage)_',
    '^_{0,2}traceiter_', // the tracepoint's probe iterator: called only with a probe attached
    '^trace_call_bpf$',
    '^perf_trace_', // perf/BPF tracepoint handlers (classic tracepoints)
    '^perf_tp_(event|filter_match)', // a perf event on a tracepoint (bpftrace's tracepoint: probes)
    '^perf_swevent_event$', // ...delivered as a software event (cpu-clock sampling does not come this way)
    '^perf_syscall_(enter|exit)$',
    '^syscall_trace_enter',
    '^syscall_exit_work$',
    '^trace_sys_(enter|exit)',
    '^_{0,2}k(ret)?probe_',
    '^_{0,2}kretprobe',
    '^(arch_)?rethook_',
    '^fprobe_',
    '^opt_pre_handler$',
    '^optimized_callback$',
    '^copy_from_kernel_nofault', // bpf_probe_read_kernel's body
    '^_{0,2}(generic_)?map_(lookup|update|delete|get_next)', // the agent's map reads through bpf(2)
  ].join('|'),
);

const ALLOCATION = new RegExp(
  [
    '^_{0,3}(kmem_cache_|kmalloc|kfree|kvfree|kvmalloc|kzalloc|krealloc|ksize$)',
    '^_{0,3}(slab_|memcg_slab_|new_slab|allocate_slab|discard_slab|free_slab|deactivate_slab|put_cpu_partial|get_partial|setup_object|shuffle_freelist|get_any_partial|unfreeze_partials)',
    '^_{0,3}(obj_cgroup_|mod_objcg|refill_obj_stock|consume_obj_stock|drain_obj_stock|memcg_|mem_cgroup_|page_counter_|refill_stock|consume_stock|drain_stock)',
    '^_{0,3}(alloc_pages|free_pages|free_unref_page|free_pcppages|rmqueue|get_page_from_freelist|free_one_page|free_page)',
    '^_{0,3}(call_rcu|rcu_|kfree_rcu|kvfree_rcu|kvfree_call_rcu|invoke_rcu|note_gp_changes|check_cb_ovld)',
    '^_{0,3}(pvclock_|kvm_clock_|ktime_get|sched_clock|native_sched_clock|read_tsc|read_hpet)',
  ].join('|'),
);

/** A kernel symbol's class by its name alone (pid 0 decides idle). */
export function symbolClass(symbol: string, pid: number): SymbolClass {
  if (pid === 0 && IDLE_SYMBOL.test(symbol)) return 'idle';
  if (BPF_PROGRAM.test(symbol)) return 'bpfProgram';
  if (BPF_RUNTIME.test(symbol) && !NOT_BPF_RUNTIME.test(symbol)) return 'bpfRuntime';
  if (ALLOCATION.test(symbol)) return 'allocation';
  return 'other';
}

/** bpf_prog_<tag>_<name> as bpf_prog_*_<name>: the same program in every round whatever its tag. */
export function normalizedSymbol(symbol: string): string {
  return symbol.replace(BPF_PROGRAM, 'bpf_prog_*$2');
}

// `perf script -F pid,ip,sym`: "  <pid>  <ip hex> <symbol, may contain spaces>".
const SAMPLE_LINE = /^\s*(\d+)\s+([0-9a-f]+)\s+(.*?)\s*$/;
/** Kernel text (and JITed BPF programs) lives in the top half of the address space. */
const KERNEL_ADDRESS = /^ffff[0-9a-f]{12}$/;

/** The `perf script -F pid,ip,sym` command line's arguments, for the text classifySamples reads. */
export const PERF_SCRIPT_FIELDS = 'pid,ip,sym';

/** Classifies every sample line of one round. */
export function classifySamples(lines: Iterable<string>, context: ClassifyContext): PerfRoundShares {
  const counts = Object.fromEntries(PERF_CATEGORIES.map((c) => [c, 0])) as Record<PerfCategory, number>;
  const symbols = new Map<string, number>();
  let samples = 0;
  let unparsed = 0;
  for (const line of lines) {
    if (line.trim() === '') continue;
    const match = SAMPLE_LINE.exec(line);
    if (!match) {
      unparsed++;
      continue;
    }
    samples++;
    const pid = Number(match[1]);
    const kernel = KERNEL_ADDRESS.test(match[2]);
    const symbol = match[3];
    const category = categoryOf(pid, kernel, symbol, context);
    counts[category]++;
    if (category === 'idle' || category === 'otherProcesses') continue;
    const key = category === 'otherPrograms' ? normalizedSymbol(symbol) + OTHER_PROGRAM_SUFFIX : kernel ? normalizedSymbol(symbol) : pid === context.tracerPid ? USER_SPACE_KEYS.tracer : pid === context.perfPid ? USER_SPACE_KEYS.perf : USER_SPACE_KEYS.other;
    symbols.set(key, (symbols.get(key) ?? 0) + 1);
  }
  return { frequencyHz: context.frequencyHz, samples, unparsed, busy: samples - counts.idle, counts, symbols: Object.fromEntries(symbols) };
}

function categoryOf(pid: number, kernel: boolean, symbol: string, context: ClassifyContext): PerfCategory {
  const kind = kernel ? symbolClass(symbol, pid) : 'other';
  if (kind === 'idle') return 'idle';
  if (kind === 'bpfProgram') {
    const tag = BPF_PROGRAM.exec(symbol)?.[1] ?? '';
    return context.tracerProgramTags === undefined || context.tracerProgramTags.has(tag) ? 'tracerPrograms' : 'otherPrograms';
  }
  if (kind === 'bpfRuntime') return 'bpfRuntime';
  if (pid === context.tracerPid) return 'tracerProcess';
  if (pid === context.perfPid) return 'perf';
  if (context.benchPids !== undefined && pid !== 0 && !context.benchPids.has(pid)) return 'otherProcesses';
  if (kind === 'allocation') return 'allocation';
  return 'other';
}

/** A round's shares, as fractions of its busy samples. */
export interface RoundShares {
  /** (a) + (b): the tracer's BPF programs and the BPF runtime they need. */
  readonly bpf: number;
  /** (c) allocation/free/RCU share minus the mean of the off rounds' share. */
  readonly allocationDelta: number;
  /** (d) the tracer's own process. */
  readonly tracerProcess: number;
  /** (a) + (b) + (c) delta + (d). */
  readonly total: number;
  /**
   * The same sum as a share of the benchmark's busy CPU (other processes' samples left out of
   * the denominator and of (c)): on a shared machine, not diluted by what others run.
   */
  readonly totalOfBench: number;
  /** Samples of processes outside the benchmark, of all busy samples. */
  readonly otherProcesses: number;
  /**
   * The same sum as CPU microseconds per unit of load (samples / Hz = CPU seconds): unlike a
   * share, not diluted when other processes take CPU; undefined when the round completed nothing.
   */
  readonly totalUsPerUnit: number | undefined;
  readonly perf: number;
  /** perf's own CPU from /proc over the CPU time the samples stand for (all CPUs, idle included); undefined when not read. */
  readonly perfProcess: number | undefined;
  readonly otherPrograms: number;
  /** Idle samples / all samples. */
  readonly idle: number;
}

const share = (n: number, round: PerfRoundShares) => (round.busy > 0 ? n / round.busy : NaN);
/** Of the benchmark's busy samples: the machine's busy samples less other processes'. */
const benchShare = (n: number, round: PerfRoundShares) => {
  const own = round.busy - round.counts.otherProcesses;
  return own > 0 ? n / own : NaN;
};
/** CPU microseconds per unit of load that `n` samples stand for. */
const usPerUnit = (n: number, round: PerfRoundShares, completed: number) => (n / round.frequencyHz / completed) * 1e6;

/** What the off rounds give the other modes to subtract: the mean allocation share (of the machine's, of the benchmark's busy CPU), and per unit of load. */
export interface OffAllocation {
  readonly share: number;
  readonly benchShare: number;
  readonly usPerUnit: number;
}

export function roundShares(round: PerfRoundShares, completed: number, off: OffAllocation): RoundShares {
  const { counts } = round;
  const bpf = share(counts.tracerPrograms + counts.bpfRuntime, round);
  const allocationDelta = share(counts.allocation, round) - off.share;
  const tracerProcess = share(counts.tracerProcess, round);
  const tracerSamples = counts.tracerPrograms + counts.bpfRuntime + counts.tracerProcess;
  return {
    bpf,
    allocationDelta,
    tracerProcess,
    total: bpf + allocationDelta + tracerProcess,
    totalOfBench: benchShare(tracerSamples + counts.allocation, round) - off.benchShare,
    otherProcesses: share(counts.otherProcesses, round),
    totalUsPerUnit: completed > 0 ? usPerUnit(tracerSamples, round, completed) + usPerUnit(counts.allocation, round, completed) - off.usPerUnit : undefined,
    perf: share(counts.perf, round),
    perfProcess: round.perfCpuSeconds === undefined || round.samples === 0 ? undefined : round.perfCpuSeconds / (round.samples / round.frequencyHz),
    otherPrograms: share(counts.otherPrograms, round),
    idle: round.samples > 0 ? counts.idle / round.samples : NaN,
  };
}

export interface SymbolDelta {
  readonly symbol: string;
  readonly kind: SymbolClass | 'otherProgram' | 'user space';
  /** Mean share of the benchmark's busy samples over the off rounds / the mode's rounds. */
  readonly offShare: number;
  readonly share: number;
  readonly delta: number;
}

export interface PerfModeSummary {
  readonly mode: Mode;
  readonly rounds: number;
  /** Medians over the rounds, fractions of the machine's busy CPU. */
  readonly bpf: number;
  readonly allocationDelta: number;
  readonly tracerProcess: number;
  readonly total: number;
  readonly totalMin: number;
  readonly totalMax: number;
  /** Median of RoundShares.totalOfBench, with its spread. */
  readonly totalOfBench: number;
  readonly totalOfBenchMin: number;
  readonly totalOfBenchMax: number;
  /** Median share of other processes' samples in the machine's busy samples. */
  readonly otherProcesses: number;
  /** Median of the total as CPU microseconds per unit of load (see RoundShares.totalUsPerUnit). */
  readonly totalUsPerUnit: number;
  readonly perf: number;
  /** Median of RoundShares.perfProcess (NaN when no round read it). */
  readonly perfProcess: number;
  readonly otherPrograms: number;
  readonly idle: number;
  /** Median samples per round (idle included). */
  readonly samples: number;
  /** The symbols whose share rose most against the off rounds (empty for off). */
  readonly topSymbols: readonly SymbolDelta[];
}

function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

const mean = (values: readonly number[]) => (values.length === 0 ? NaN : values.reduce((a, b) => a + b, 0) / values.length);

/** Mean share of every symbol over the rounds (a symbol absent from a round counts 0 there). */
function meanSymbolShares(rounds: readonly PerfRoundShares[]): Map<string, number> {
  const sums = new Map<string, number>();
  for (const round of rounds) {
    for (const [symbol, n] of Object.entries(round.symbols)) sums.set(symbol, (sums.get(symbol) ?? 0) + benchShare(n, round));
  }
  return new Map([...sums].map(([symbol, sum]) => [symbol, sum / rounds.length]));
}

function kindOf(symbol: string): SymbolDelta['kind'] {
  if ((Object.values(USER_SPACE_KEYS) as string[]).includes(symbol)) return 'user space';
  // Keys are normalized (bpf_prog_*_<name>), which the tag pattern no longer matches.
  if (symbol.startsWith('bpf_prog_')) return symbol.endsWith(OTHER_PROGRAM_SUFFIX) ? 'otherProgram' : 'bpfProgram';
  return symbolClass(symbol, -1);
}

/**
 * Per mode (canonical order, off first): medians over its rounds of each share, the total's
 * spread, and the `top` symbols by rise against the off rounds. Needs off rounds for the deltas.
 */
export function summarizePerf(
  rounds: readonly { readonly mode: Mode; readonly perf?: PerfRoundShares; readonly load: { readonly completed: number } }[],
  top = 10,
): PerfModeSummary[] {
  const measured = rounds.flatMap((r) => (r.perf ? [{ mode: r.mode, perf: r.perf, completed: r.load.completed }] : []));
  const off = measured.filter((r) => r.mode === 'off');
  if (off.length === 0) throw new Error('--perf needs off rounds: shares of allocation and symbols are given against them (add off to --modes)');
  const offAllocation: OffAllocation = {
    share: mean(off.map((r) => share(r.perf.counts.allocation, r.perf))),
    benchShare: mean(off.map((r) => benchShare(r.perf.counts.allocation, r.perf))),
    usPerUnit: mean(off.filter((r) => r.completed > 0).map((r) => usPerUnit(r.perf.counts.allocation, r.perf, r.completed))),
  };
  const offSymbols = meanSymbolShares(off.map((r) => r.perf));
  return canonicalOrder(measured.map((r) => r.mode)).map((mode) => {
    const modeRounds = measured.filter((r) => r.mode === mode);
    const perfRounds = modeRounds.map((r) => r.perf);
    const shares = modeRounds.map((r) => roundShares(r.perf, r.completed, offAllocation));
    const pick = (f: (s: RoundShares) => number) => median(shares.map(f));
    const totals = shares.map((s) => s.total);
    const benchTotals = shares.map((s) => s.totalOfBench);
    let topSymbols: SymbolDelta[] = [];
    if (mode !== 'off') {
      const modeSymbols = meanSymbolShares(perfRounds);
      const all = new Set([...modeSymbols.keys(), ...offSymbols.keys()]);
      topSymbols = [...all]
        .map((symbol) => {
          const offShare = offSymbols.get(symbol) ?? 0;
          const modeShare = modeSymbols.get(symbol) ?? 0;
          return { symbol, kind: kindOf(symbol), offShare, share: modeShare, delta: modeShare - offShare };
        })
        .sort((a, b) => b.delta - a.delta || a.symbol.localeCompare(b.symbol))
        .slice(0, top);
    }
    return {
      mode,
      rounds: perfRounds.length,
      bpf: pick((s) => s.bpf),
      allocationDelta: pick((s) => s.allocationDelta),
      tracerProcess: pick((s) => s.tracerProcess),
      total: median(totals),
      totalMin: Math.min(...totals),
      totalMax: Math.max(...totals),
      totalOfBench: median(benchTotals),
      totalOfBenchMin: Math.min(...benchTotals),
      totalOfBenchMax: Math.max(...benchTotals),
      otherProcesses: pick((s) => s.otherProcesses),
      totalUsPerUnit: median(shares.flatMap((s) => (s.totalUsPerUnit === undefined ? [] : [s.totalUsPerUnit]))),
      perf: pick((s) => s.perf),
      perfProcess: median(shares.flatMap((s) => (s.perfProcess === undefined ? [] : [s.perfProcess]))),
      otherPrograms: pick((s) => s.otherPrograms),
      idle: pick((s) => s.idle),
      samples: median(perfRounds.map((r) => r.samples)),
      topSymbols,
    };
  });
}
