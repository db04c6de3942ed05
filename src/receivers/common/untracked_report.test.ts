// The table-full warning: once per run, only when something was not followed, in the receiver's words.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AgentLogger } from '../../logger';
import { DROP_REASONS } from './event_counters';
import { UntrackedReport } from './untracked_report';

function recordingLogger(lines: string[]): AgentLogger {
  const logger: AgentLogger = {
    debug: (m) => lines.push(`DEBUG ${m}`),
    info: (m) => lines.push(`INFO ${m}`),
    warn: (m) => lines.push(`WARN ${m}`),
    error: (m) => lines.push(`ERROR ${m}`),
    child: () => logger,
  };
  return logger;
}

test('nothing untracked, no warning; the first untracked sockets warn once with the full sentence', () => {
  const lines: string[] = [];
  const report = new UntrackedReport(recordingLogger(lines), 'tcp_lifecycle/x', {
    lost: 'connection event(s)',
    key: 'max_connections',
    limit: 1024,
    exceeded: 'sockets were open at once',
    consequence: 'the oldest tracked ones were evicted and their tcp.connect/tcp.close and close metrics are missing',
    reason: DROP_REASONS.connectionUntracked,
    raiseAbove: 'the peak number of open TCP sockets (184 bytes of locked kernel memory each)',
  });
  report.note(0n);
  assert.deepEqual(lines, []);
  report.note(7n);
  report.note(9n);
  assert.deepEqual(lines, [
    'WARN 7 connection event(s) lost: more than max_connections (1024) sockets were open at once, so the oldest tracked ones were ' +
      'evicted and their tcp.connect/tcp.close and close metrics are missing (counted in tcpscope.receiver.dropped_events ' +
      'reason=connection_untracked). Set receivers.tcp_lifecycle/x.max_connections above the peak number of open TCP sockets ' +
      '(184 bytes of locked kernel memory each). Logged once.',
  ]);
});

test('the handshake wording reads as the receiver wrote it before the shared report', () => {
  const lines: string[] = [];
  new UntrackedReport(recordingLogger(lines), 'tcp_handshake/y', {
    lost: 'handshake outcome(s)',
    key: 'max_attempts',
    limit: 64,
    exceeded: 'connects were pending at once',
    consequence: 'new ones were not followed and their outcomes are missing from system.network.tcp.handshake.duration and the events',
    reason: DROP_REASONS.attemptUntracked,
    raiseAbove: 'the peak number of connects waiting for an answer (a SYN to a silent host waits up to ~2 min)',
  }).note(3n);
  assert.deepEqual(lines, [
    'WARN 3 handshake outcome(s) lost: more than max_attempts (64) connects were pending at once, so new ones were not followed and ' +
      'their outcomes are missing from system.network.tcp.handshake.duration and the events (counted in tcpscope.receiver.dropped_events ' +
      'reason=attempt_untracked). Set receivers.tcp_handshake/y.max_attempts above the peak number of connects waiting for an answer ' +
      '(a SYN to a silent host waits up to ~2 min). Logged once.',
  ]);
});
