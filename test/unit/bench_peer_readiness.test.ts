// When the benchmark counts a peer tool as ready: `bpftool perf -j` lists its tracepoint as
// attached by its pid and every program it holds is attached. The listings are captured from
// bpftool 7.1 (Debian bookworm) with tcplife 0.26 and bpftrace 0.17 running on this kernel, and
// from the agent beside them.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { attachedBy, isReady, PEERS } from '../../bench/peers';

const TCPLIFE_PID = 20940;
const BPFTRACE_PID = 20939;
const AGENT_PID = 10902;
const PERF_LIST = JSON.stringify([
  { pid: AGENT_PID, fd: 31, prog_id: 41191, fd_type: 'raw_tracepoint', tracepoint: 'inet_sock_set_state' },
  { pid: AGENT_PID, fd: 32, prog_id: 41193, fd_type: 'tracepoint', tracepoint: 'sys_exit_accept4' },
  { pid: TCPLIFE_PID, fd: 9, prog_id: 42664, fd_type: 'tracepoint', tracepoint: 'inet_sock_set_state' },
  { pid: BPFTRACE_PID, fd: 9, prog_id: 42672, fd_type: 'tracepoint', tracepoint: 'inet_sock_set_state' },
]);

test('bpftool perf entries are read per pid', () => {
  assert.deepEqual(attachedBy(PERF_LIST, TCPLIFE_PID), { programs: new Set([42664]), tracepoints: new Set(['inet_sock_set_state']) });
  assert.deepEqual(attachedBy(PERF_LIST, AGENT_PID).programs, new Set([41191, 41193]));
  assert.deepEqual(attachedBy('[]', TCPLIFE_PID), { programs: new Set(), tracepoints: new Set() });
});

test('ready once the tool\'s tracepoint is attached by its pid and every program it holds is attached', () => {
  const tcplife = attachedBy(PERF_LIST, TCPLIFE_PID);
  assert.equal(isReady(PEERS.tcplife, new Set([42664]), tcplife), true);
  // Loaded, perf buffer open, not attached yet: tcplife holds perf event fds for its perf buffer
  // before and after attaching, so they prove nothing.
  assert.equal(isReady(PEERS.tcplife, new Set([42664]), attachedBy('[]', TCPLIFE_PID)), false);
  // A program held but not (yet) attached: not ready.
  assert.equal(isReady(PEERS.tcplife, new Set([42664, 42665]), tcplife), false);
  // No program held: not ready, whatever else is listed.
  assert.equal(isReady(PEERS.tcplife, new Set(), tcplife), false);
  // bpftrace attaches probe by probe: its END probe attached alone is not the tracepoint.
  const endOnly = { programs: new Set([42671]), tracepoints: new Set<string>() };
  assert.equal(isReady(PEERS['bpftrace-lifetime'], new Set([42671]), endOnly), false);
  assert.equal(isReady(PEERS['bpftrace-lifetime'], new Set([42672]), attachedBy(PERF_LIST, BPFTRACE_PID)), true);
  // The srtt script is ready on tcp_probe, not on a state-change tracepoint.
  assert.equal(isReady(PEERS['bpftrace-srtt'], new Set([42672]), attachedBy(PERF_LIST, BPFTRACE_PID)), false);
});
