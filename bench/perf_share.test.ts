// bench/perf_share.ts on canned `perf script -F pid,ip,sym` text shaped like perf 6.1's (kernel
// samples at ffff... addresses, JITed BPF programs as bpf_prog_<tag>_<name>, user space with
// demangled names holding spaces): every sample lands in exactly one category, and the per-mode
// medians, deltas against off and the top symbols come out as computed by hand.
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { perfSymbolsTable, perfTable } from './report';
import { LOAD_UNITS } from './loads';
import { classifySamples, normalizedSymbol, PERF_CATEGORIES, summarizePerf, symbolClass, USER_SPACE_KEYS, type PerfCategory, type PerfRoundShares } from './perf_share';

const TRACER = 777;
const PERF = 888;
// The load runs as pid 4242 below.
const OURS = '6deef7357e7b4530';

const CANNED = `
       0      ffffffff821f4dab pv_native_safe_halt
       0      ffffffff821f4dab pv_native_safe_halt
       0      ffffffff81e2c3a0 __do_softirq
    4242  ffffffffc0a1b2c3 bpf_prog_${OURS}_tcp_lifecycle_set_state
    4242  ffffffffc0a1b2c3 bpf_prog_${OURS}_tcp_lifecycle_set_state
    4242  ffffffffc0ffee00 bpf_prog_0123456789abcdef_sd_fw_egress
    4242  ffffffff811a0000 bpf_trace_run3
    4242  ffffffff811a0010 bpf_sk_storage_get_tracing
    4242  ffffffff811a0020 htab_map_update_elem
    4242  ffffffff811a0030 lookup_nulls_elem_raw
    4242  ffffffff811a0040 __traceiter_inet_sock_set_state
    4242  ffffffff811a0050 syscall_trace_enter.constprop.0
    4242  ffffffff811b0000 bpf_lsm_socket_create
    4242  ffffffff811c0000 kmem_cache_alloc_noprof
    4242  ffffffff811c0010 __memcg_slab_post_alloc_hook
    4242  ffffffff811c0020 kvfree_call_rcu
       0  ffffffff811c0030 rcu_core
    4242  ffffffff811c0040 kfree
    4242  ffffffff81b75c16 tcp_v4_connect
    4242  ffffffff81b75c16 tcp_v4_connect
    4242      7f8aaf8c384c __vdso_gettimeofday
    4242      55d0c0001234 v8::internal::Heap::Scavenge (anonymous namespace)::Visit
     777  ffffffff811c0000 kmem_cache_alloc_noprof
     777  ffffffff811a0060 htab_map_lookup_elem
     777      55d0c0de1234 Builtins_LoadIC
     777      55d0c0de1234 [unknown]
     888  ffffffff81234000 perf_poll
     888      5600000000aa [unknown]
Warning: 1 out of order event
`;

function counts(partial: Partial<Record<PerfCategory, number>>): Record<PerfCategory, number> {
  return Object.fromEntries(PERF_CATEGORIES.map((c) => [c, partial[c] ?? 0])) as Record<PerfCategory, number>;
}

describe('classifySamples', () => {
  it('puts every sample in one category, BPF first, then the tracer and perf by pid, then allocation', () => {
    const round = classifySamples(CANNED.split('\n'), { tracerPid: TRACER, perfPid: PERF, tracerProgramTags: new Set([OURS]), frequencyHz: 999 });
    assert.equal(round.samples, 28);
    assert.equal(round.unparsed, 1);
    assert.equal(round.busy, 26);
    assert.deepEqual(
      round.counts,
      counts({
        idle: 2,
        tracerPrograms: 2,
        otherPrograms: 1,
        // bpf_trace_run3, bpf_sk_storage_get_tracing, htab_map_update_elem, lookup_nulls_elem_raw,
        // __traceiter_, syscall_trace_enter.constprop.0, and the tracer's own htab_map_lookup_elem
        bpfRuntime: 7,
        // its kmem_cache_alloc_noprof and two user-space samples
        tracerProcess: 3,
        perf: 2,
        // kmem_cache_alloc_noprof, __memcg_slab_post_alloc_hook, kvfree_call_rcu, rcu_core (pid 0), kfree
        allocation: 5,
        // __do_softirq (pid 0, not idle), bpf_lsm_socket_create, 2 x tcp_v4_connect, 2 user space
        other: 6,
      }),
    );
    assert.equal(Object.values(round.counts).reduce((a, b) => a + b, 0), round.samples);
    assert.equal(round.frequencyHz, 999);
    assert.deepEqual(round.symbols, {
      '__do_softirq': 1,
      'bpf_prog_*_tcp_lifecycle_set_state': 2,
      "bpf_prog_*_sd_fw_egress (not the tracer's)": 1,
      bpf_trace_run3: 1,
      bpf_sk_storage_get_tracing: 1,
      htab_map_update_elem: 1,
      lookup_nulls_elem_raw: 1,
      __traceiter_inet_sock_set_state: 1,
      'syscall_trace_enter.constprop.0': 1,
      bpf_lsm_socket_create: 1,
      kmem_cache_alloc_noprof: 2,
      __memcg_slab_post_alloc_hook: 1,
      kvfree_call_rcu: 1,
      rcu_core: 1,
      kfree: 1,
      tcp_v4_connect: 2,
      [USER_SPACE_KEYS.other]: 2,
      htab_map_lookup_elem: 1,
      [USER_SPACE_KEYS.tracer]: 2,
      perf_poll: 1,
      [USER_SPACE_KEYS.perf]: 1,
    });
    assert.equal(Object.values(round.symbols).reduce((a, b) => a + b, 0), round.busy);
  });

  it('counts every bpf_prog_ as the tracer\'s when its tags are unknown, none in an off round', () => {
    const any = classifySamples(CANNED.split('\n'), { tracerPid: TRACER, perfPid: PERF, tracerProgramTags: undefined, frequencyHz: 999 });
    assert.equal(any.counts.tracerPrograms, 3);
    assert.equal(any.counts.otherPrograms, 0);
    const off = classifySamples(CANNED.split('\n'), { tracerPid: undefined, perfPid: PERF, tracerProgramTags: new Set(), frequencyHz: 999 });
    assert.equal(off.counts.tracerPrograms, 0);
    assert.equal(off.counts.otherPrograms, 3);
    // Without a tracer pid its samples fall where their symbols say: one allocation, one BPF runtime, two user space.
    assert.equal(off.counts.tracerProcess, 0);
    assert.equal(off.counts.allocation, 6);
    assert.equal(off.counts.bpfRuntime, 7);
    assert.equal(off.symbols[USER_SPACE_KEYS.other], 4);
    // The same program is another key in an off round, so that the tracer's rise against off shows.
    assert.equal(off.symbols["bpf_prog_*_tcp_lifecycle_set_state (not the tracer's)"], 2);
    assert.equal(off.symbols['bpf_prog_*_tcp_lifecycle_set_state'], undefined);
  });
});

describe('classifySamples with the benchmark\'s pids known', () => {
  const OTHERS = `
    9999  ffffffff811c0000 kfree
    9999      7f0000001234 main
    9999  ffffffffc0a1b2c3 bpf_prog_${OURS}_tcp_lifecycle_set_state
      31  ffffffff811c0030 rcu_core
`;
  const lines = (CANNED + OTHERS).split('\n');
  it('counts other processes apart, except their BPF samples (the tracer\'s hooks run for them too); kernel threads and pid 0 stay the benchmark\'s', () => {
    const benchPids = new Set([TRACER, PERF, 4242, 31]);
    const round = classifySamples(lines, { tracerPid: TRACER, perfPid: PERF, tracerProgramTags: new Set([OURS]), benchPids, frequencyHz: 999 });
    assert.equal(round.samples, 32);
    assert.equal(round.busy, 30);
    assert.equal(round.counts.otherProcesses, 2);
    assert.equal(round.counts.tracerPrograms, 3);
    assert.equal(round.counts.allocation, 6); // the canned 5 and kernel thread 31's rcu_core
    assert.equal(round.symbols.kfree, 1, 'pid 9999\'s kfree is not the benchmark\'s');
    assert.equal(round.symbols[USER_SPACE_KEYS.other], 2);
    assert.equal(Object.values(round.symbols).reduce((a, b) => a + b, 0), round.busy - round.counts.otherProcesses);
    const unknown = classifySamples(lines, { tracerPid: TRACER, perfPid: PERF, tracerProgramTags: new Set([OURS]), frequencyHz: 999 });
    assert.equal(unknown.counts.otherProcesses, 0);
    assert.equal(unknown.counts.allocation, 7);
  });
});

describe('symbolClass', () => {
  it('tells idle only of pid 0, keeps LSM stubs out of the BPF runtime', () => {
    assert.equal(symbolClass('pv_native_safe_halt', 0), 'idle');
    assert.equal(symbolClass('default_idle_call', 0), 'idle');
    assert.equal(symbolClass('pv_native_safe_halt', 12), 'other');
    assert.equal(symbolClass('bpf_lsm_file_open', 12), 'other');
    assert.equal(symbolClass('__bpf_prog_enter_recur', 12), 'bpfRuntime');
    assert.equal(symbolClass('bpf_local_storage_update', 12), 'bpfRuntime');
    assert.equal(symbolClass('bpf_map_kzalloc', 12), 'bpfRuntime');
    assert.equal(symbolClass('___pcpu_freelist_pop', 12), 'bpfRuntime');
    assert.equal(symbolClass('bpf_ringbuf_submit', 12), 'bpfRuntime');
    assert.equal(symbolClass('perf_tp_event', 12), 'bpfRuntime');
    assert.equal(symbolClass('perf_swevent_event', 12), 'bpfRuntime');
    assert.equal(symbolClass('perf_swevent_hrtimer', 12), 'other');
    assert.equal(symbolClass('__memcg_slab_free_hook', 12), 'allocation');
    assert.equal(symbolClass('kvfree_call_rcu', 12), 'allocation');
    assert.equal(symbolClass('pvclock_clocksource_read_nowd', 12), 'allocation');
    assert.equal(symbolClass('ktime_get_mono_fast_ns', 12), 'allocation');
    assert.equal(symbolClass('tcp_v4_connect', 12), 'other');
    assert.equal(symbolClass('bpf_prog_6deef7357e7b4530_tcp_lifecycle_set_state', 12), 'bpfProgram');
  });

  it('normalizes a program\'s tag away', () => {
    assert.equal(normalizedSymbol(`bpf_prog_${OURS}_tcp_lifecycle_set_state`), 'bpf_prog_*_tcp_lifecycle_set_state');
    assert.equal(normalizedSymbol(`bpf_prog_${OURS}`), 'bpf_prog_*');
    assert.equal(normalizedSymbol('bpf_trace_run3'), 'bpf_trace_run3');
  });
});

/** A round of 1000 busy samples (and 10 idle) at 1000 Hz: `n` samples are n/10 % and n ms of CPU. */
function round(partial: Partial<Record<PerfCategory, number>>, symbols: Record<string, number>): PerfRoundShares {
  const c = counts({ ...partial, idle: 10 });
  const busy = PERF_CATEGORIES.filter((k) => k !== 'idle').reduce((sum, k) => sum + c[k], 0);
  assert.equal(busy, 1000, 'test rounds have 1000 busy samples');
  return { frequencyHz: 1000, samples: busy + 10, unparsed: 0, busy, counts: c, symbols };
}

describe('summarizePerf', () => {
  const off1 = round({ allocation: 40, other: 960 }, { kfree: 40, tcp_v4_connect: 960 });
  const off2 = round({ allocation: 60, other: 940 }, { kfree: 60, tcp_v4_connect: 940 });
  // Metrics rounds: (a)+(b) 20 + 5, 30 + 5, 22 + 3; allocation 70, 50, 80; tracer process 10, 4, 6.
  const m1 = round({ tracerPrograms: 20, bpfRuntime: 5, allocation: 70, tracerProcess: 10, other: 895 }, { 'bpf_prog_*_x': 20, bpf_trace_run3: 5, kfree: 70, [USER_SPACE_KEYS.tracer]: 10, tcp_v4_connect: 895 });
  const m2 = round({ tracerPrograms: 30, bpfRuntime: 5, allocation: 50, tracerProcess: 4, other: 911 }, { 'bpf_prog_*_x': 30, bpf_trace_run3: 5, kfree: 50, [USER_SPACE_KEYS.tracer]: 4, tcp_v4_connect: 911 });
  const m3 = round({ tracerPrograms: 22, bpfRuntime: 3, allocation: 80, tracerProcess: 6, other: 889 }, { 'bpf_prog_*_x': 22, bpf_trace_run3: 3, kfree: 80, [USER_SPACE_KEYS.tracer]: 6, tcp_v4_connect: 889 });
  const rounds = [
    { mode: 'off' as const, perf: off1, load: { completed: 1000 } },
    { mode: 'metrics' as const, perf: m1, load: { completed: 1000 } },
    { mode: 'metrics' as const, perf: m2, load: { completed: 1000 } },
    { mode: 'off' as const, perf: off2, load: { completed: 1000 } },
    { mode: 'metrics' as const, perf: m3, load: { completed: 500 } },
  ];
  const close = (actual: number, expected: number) => assert.ok(Math.abs(actual - expected) < 1e-12, `${actual} != ${expected}`);

  it('gives medians of (a)+(b), of (c) against the off rounds\' mean, of (d) and of the total with its spread', () => {
    const [off, metrics] = summarizePerf(rounds);
    assert.equal(off.mode, 'off');
    assert.equal(off.rounds, 2);
    close(off.bpf, 0);
    // off allocation: 4% and 6%, mean 5%: deltas -1% and +1%
    close(off.allocationDelta, 0);
    close(off.totalMin, -0.01);
    close(off.totalMax, 0.01);
    assert.deepEqual(off.topSymbols, []);
    assert.equal(metrics.mode, 'metrics');
    assert.equal(metrics.rounds, 3);
    close(metrics.bpf, 0.025); // 2.5%, 3.5%, 2.5%
    close(metrics.allocationDelta, 0.02); // +2%, 0%, +3%
    close(metrics.tracerProcess, 0.006); // 1%, 0.4%, 0.6%
    // totals: 2.5+2+1 = 5.5%, 3.5+0+0.4 = 3.9%, 2.5+3+0.6 = 6.1%
    close(metrics.total, 0.055);
    close(metrics.totalMin, 0.039);
    close(metrics.totalMax, 0.061);
    close(metrics.idle, 10 / 1010);
    assert.equal(metrics.samples, 1010);
    assert.ok(Number.isNaN(off.perfProcess), 'no round read perf\'s CPU');
  });

  it('gives perf\'s own CPU against the CPU time its samples stand for', () => {
    // 1010 samples at 1000 Hz stand for 1.01 CPU seconds: 5.05, 10.1 and 20.2 ms are 0.5%, 1% and 2%.
    const withCpu = rounds.map((r, i) => (r.mode === 'off' ? r : { ...r, perf: { ...r.perf, perfCpuSeconds: [0, 0.00505, 0.0101, 0, 0.0202][i] } }));
    const [, metrics] = summarizePerf(withCpu);
    close(metrics.perfProcess, 0.01);
  });

  it('gives the total per unit of load against the off rounds\' allocation per unit', () => {
    const [, metrics] = summarizePerf(rounds);
    // off allocation: 40 and 60 ms per 1000 connections: 50 us each. Metrics, us per connection:
    // (35 + 70) - 50 = 55; (39 + 50) - 50 = 39; (31 + 80) ms / 500 = 222 - 50 = 172. Median 55.
    close(metrics.totalUsPerUnit, 55);
  });

  it('lists the symbols that rose most against off, with their class', () => {
    const [, metrics] = summarizePerf(rounds, 3);
    assert.deepEqual(
      metrics.topSymbols.map((t) => [t.symbol, t.kind]),
      [
        ['bpf_prog_*_x', 'bpfProgram'],
        ['kfree', 'allocation'],
        [USER_SPACE_KEYS.tracer, 'user space'],
      ],
    );
    // bpf_prog_*_x: mean (2 + 3 + 2.2) / 3 = 2.4% against 0; kfree: (7 + 5 + 8) / 3 - 5 = 1.6667%
    close(metrics.topSymbols[0].delta, 0.024);
    close(metrics.topSymbols[1].offShare, 0.05);
    close(metrics.topSymbols[1].delta, 0.2 / 3 - 0.05);
    close(metrics.topSymbols[2].delta, 0.02 / 3);
  });

  it('gives the total of the benchmark\'s CPU, other processes left out of the denominator', () => {
    // Others took half the machine: (10 + 5 + 5) BPF and tracer samples, 30 of allocation.
    const shared = round({ tracerPrograms: 10, bpfRuntime: 5, tracerProcess: 5, allocation: 30, otherProcesses: 500, other: 450 }, { kfree: 30, tcp_v4_connect: 450 });
    const [off, metrics] = summarizePerf([rounds[0], rounds[3], { mode: 'metrics', perf: shared, load: { completed: 1000 } }]);
    close(off.totalOfBench, 0);
    close(off.otherProcesses, 0);
    // Of the machine: 2% + 3% - 5% = 0; of the benchmark's 500: 4% + 6% - 5% = 5%.
    close(metrics.total, 0);
    close(metrics.totalOfBench, 0.05);
    close(metrics.otherProcesses, 0.5);
    // kfree: 30 of 500 = 6% against the off rounds' 5%
    close(metrics.topSymbols.find((t) => t.symbol === 'kfree')?.delta ?? NaN, 0.01);
  });

  it('prints the shares table and the symbols table with the classes by their letters', () => {
    const summaries = summarizePerf(rounds, 2);
    const table = perfTable(summaries, LOAD_UNITS.churn).split('\n');
    assert.equal(table.length, 4);
    assert.match(table[3], /^\| metrics only +\| 3 +\| 1,010 +\| 2\.50% +\| \+2\.00% +\| 0\.60% +\| 5\.50% \(3\.90% to 6\.10%\) +\| 5\.50% \(3\.90% to 6\.10%\) +\| 55\.0 +\|/);
    const symbols = perfSymbolsTable(summaries).split('\n');
    assert.equal(symbols.length, 4);
    assert.match(symbols[2], /^\| metrics only \| 1 +\| bpf_prog_\*_x \| \(a\) BPF program +\| 0\.00% +\| 2\.40% \| \+2\.40% \|$/);
    assert.match(symbols[3], /\| kfree +\| \(c\) alloc\/free\/RCU\/clock \| 5\.00% +\| 6\.67% \| \+1\.67% \|$/);
  });

  it('refuses rounds without off', () => {
    assert.throws(() => summarizePerf(rounds.filter((r) => r.mode !== 'off')), /needs off rounds/);
  });
});
