// The benchmark's peer tools: how their output is counted, and how they are named as modes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { canonicalOrder, modeLabel, parseMode, peerOf } from '../../bench/modes';
import { histogramSamples, lostEvents, PEERS } from '../../bench/peers';

// Captured from libbpf-tools 0.26 (Debian bookworm) and bpftrace 0.17 on this kernel.
const TCPLIFE = `PID     COMM             LADDR           LPORT RADDR           RPORT TX_KB  RX_KB  MS
6258    python3          127.0.0.1       42964 127.0.0.1       40843 0.06   0.00   0.17
6258    python3          127.0.0.1       40843 127.0.0.1       42964 0.00   0.06   0.18
6259    curl             127.0.0.1       42970 127.0.0.1       8080  0.06   0.00   0.17
`;
const TCPSTATES = `SKADDR           PID     COMM       LADDR           LPORT RADDR           RPORT OLDSTATE    -> NEWSTATE    MS
ffff88826719d340 6258    python3    127.0.0.1       40843 0.0.0.0         0     CLOSE       -> LISTEN      0.000
ffff88826719c0c0 6258    python3    127.0.0.1       0     127.0.0.1       40843 CLOSE       -> SYN_SENT    0.000
ffff88826719c0c0 6258    python3    127.0.0.1       42964 127.0.0.1       40843 SYN_SENT    -> ESTABLISHED 0.062
ffff888267199280 6258    python3    127.0.0.1       40843 127.0.0.1       42964 LISTEN      -> SYN_RECV    0.000
ffff888267199280 6258    python3    127.0.0.1       8080  127.0.0.1       42970 LISTEN      -> SYN_RECV    0.000
`;
const HIST = `Attaching 2 probes...


@lifetime_us[1]: 
[0]                    1 |@                                                   |
[32, 64)               8 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|
[64, 128)              2 |@@@@@@@@@@@@@                                       |

@lifetime_us[4242]: 
[1K, 2K)              30 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|
`;

test('tcplife: lines whose local or remote port is one of the load servers', () => {
  assert.equal(PEERS.tcplife.countRecords(TCPLIFE, new Set([40843])), 2);
  assert.equal(PEERS.tcplife.countRecords(TCPLIFE, new Set([8080, 40843])), 3);
  assert.equal(PEERS.tcplife.countRecords(TCPLIFE, new Set([9])), 0);
});

test('tcpstates: the LISTEN line of a server counts too, the header never does', () => {
  assert.equal(PEERS.tcpstates.countRecords(TCPSTATES, new Set([40843])), 4);
  assert.equal(PEERS.tcpstates.countRecords(TCPSTATES, new Set([8080])), 1);
});

test('bpftrace histograms: the samples of every bucket of every key', () => {
  assert.equal(histogramSamples(HIST), 41);
  assert.equal(PEERS['bpftrace-lifetime'].countRecords(HIST, new Set()), 41);
  assert.equal(histogramSamples('Attaching 1 probe...\n\n\n'), 0);
});

test('lost events as libbpf-tools and bpftrace report them', () => {
  assert.equal(lostEvents('lost 12 events on CPU #0\nlost 3 events on CPU #1\n'), 15);
  assert.equal(lostEvents('Lost 7 events\n'), 7);
  assert.equal(lostEvents('PID COMM ... nothing lost\n'), 0);
});

test('peer modes parse, are labelled, and run after the agent modes', () => {
  assert.equal(parseMode('peer:tcplife'), 'peer:tcplife');
  assert.equal(parseMode('peer:bpftrace-srtt'), 'peer:bpftrace-srtt');
  assert.equal(parseMode('peer:tcpdump'), undefined);
  assert.equal(peerOf('peer:tcpstates'), 'tcpstates');
  assert.equal(peerOf('events'), undefined);
  assert.equal(modeLabel('peer:tcplife'), 'peer: tcplife (libbpf-tools)');
  assert.deepEqual(canonicalOrder(['peer:tcplife', 'events', 'off', 'peer:bpftrace-lifetime', 'metrics']), ['off', 'metrics', 'events', 'peer:tcplife', 'peer:bpftrace-lifetime']);
});
