// Renders docs/telemetry.md from the same definitions the receivers use. A test fails when the
// committed file differs: run `npm run docs:telemetry` after changing a definition.
import type { AttributeDefinition } from './attributes';
import { ATTR } from './attributes';
import { PROCESSOR_ATTRIBUTES } from './processors';
import { EVENTS, METRICS } from './signals';

const INTRO = `# tcpscope telemetry

Generated from \`src/telemetry/\` by \`npm run docs:telemetry\`; do not edit by hand.

Names follow the OpenTelemetry semantic conventions where one exists (metrics follow the
\`system.network.tcp.*\` shape proposed in semantic-conventions issue #3682, development status).
Fields of our own are \`tcp.*\`; the agent's own health is \`tcpscope.*\`. Durations are in seconds,
sizes in bytes. The Resource describes the agent (\`service.name=tcpscope\`, \`service.version\`,
\`service.instance.id\` (a UUID per run unless \`service.telemetry.resource\` sets it), \`host.name\` (the node name in a pod),
\`k8s.node.name\` from \`$K8S_NODE_NAME\`); what was observed is in data point and log record
attributes.

**Metrics are complete, events are sampled — up to what the kernel counts as lost.** Every metric
below is aggregated in the kernel from every program run, before the ring buffer and before any
sampling; the event stream (logs) can lose records, and \`tcpscope.receiver.dropped_events\` counts
them by reason. One loss reaches the metrics too, and it is counted: a program run the kernel
skipped because the same program was already running on that CPU
(\`tcpscope.receiver.missed_runs\`, the kernel's \`recursion_misses\`). Data folded into an overflow series because a
series map was full is not lost, only unattributed (\`tcpscope.receiver.overflow_updates\`). So
with those at zero, the metrics are complete; otherwise they say how far they are not. One
exception is measured and not counted: on Linux 6.18 a tcp_rtt sample can be missing with none of
them counting it (see "Not every segment is a sample" under the RTT histograms).
`;

const NOTES = `## How the numbers are obtained

- **Hooks.** \`tp_btf/inet_sock_set_state\` for every TCP state change, and the
  \`syscalls:sys_exit_accept4\` / \`sys_exit_accept\` tracepoints to learn which process accepted a
  connection. Stable tracepoints only: no kprobes, no fentry. The accept hooks are loaded only
  when a logs pipeline uses the receiver: an enabled syscall tracepoint puts every syscall of
  every process on the kernel's slower tracing path (measured +55 ns per syscall), a price only
  worth paying for events.
- **Owner.** A client socket's owner is the process running when the socket enters SYN_SENT
  (that is inside \`connect()\`). A server socket reaches ESTABLISHED in softirq context, where the
  running process is unrelated (on loopback it is the client), so its owner is taken when
  \`accept()\` returns it. \`tcp.accept\` is therefore emitted when accept() returns, stamped with the
  time of the ESTABLISHED transition. A server connection that closes before any process accepts it
  has no \`tcp.accept\` event and its \`tcp.close\` has no \`process.pid\`.
- **Bytes.** The kernel's \`bytes_acked\` / \`bytes_received\` count SYN and FIN sequence space. The
  values at ESTABLISHED are subtracted (removing the SYN); our FIN is subtracted from the sent bytes
  when it was sent and acknowledged (\`snd_una == write_seq\` after FIN_WAIT1/LAST_ACK); the peer's
  FIN is subtracted from the received bytes when the kernel processed it (\`SOCK_DONE\`). What is
  reported is application payload, exactly.
- **Tuple.** Addresses and ports are read at ESTABLISHED and kept: at CLOSE the local port of the
  side that closed first can already be 0.
- **cgroup.** \`sk->sk_cgrp_data.cgroup->kn->id\` (the inode of the cgroup v2 directory) resolved to
  a path by walking the cgroup v2 hierarchy (cached, rescanned on a miss). Server sockets inherit
  the listener's cgroup.
- **Connections open before the agent started** produce no events and are not in the metrics: the
  hook sees transitions, and the agent did not see theirs. A client whose SYN was sent before the
  agent started is counted in the metrics from ESTABLISHED on but has no \`tcp.connect\` event (its
  owner is unknown).
- **Bounded state.** Each socket is followed, from its first transition to its close, in a
  preallocated hash keyed by the socket's address (\`max_connections\`, 184 bytes of locked kernel
  memory per entry, measured; default 131,072 = 23 MiB). Nothing followed is evicted. When that many
  sockets are followed at once, a new socket is not followed at all: its events and its connection
  metrics are missing. Each such socket is counted (\`tcpscope.receiver.dropped_events\` with
  \`reason=connection_untracked\`) and the first is logged with the key to raise. Size
  \`max_connections\` above the host's peak of open TCP sockets. Per-cgroup aggregates are bounded by \`max_cgroups\`; beyond
  it, data is added to one series per role with \`otel.metric.overflow=true\` (counted in
  \`tcpscope.receiver.overflow_updates\`).
- **Series of removed cgroups** (pods that came and went) leave the kernel map, in every receiver:
  a series whose cgroup was already gone before a collection's read is exported with those final
  values and then deleted, so the map never fills with the dead and new workloads never fall into
  the overflow series. tcp_lifecycle keeps such a series while \`system.network.connection.count\`
  of it is not 0 (a socket keeps its cgroup after its process left); a series that reappears
  anyway (a surviving socket in tcp_handshake or tcp_rtt) starts anew, its start time the moment
  the old one was removed.
`;

const HANDSHAKE_NOTES = `## Handshake outcomes (tcp_handshake)

Each outbound attempt ends in exactly one outcome, counted once in
\`system.network.tcp.handshake.duration\` and reported as one \`tcp.connect\` event (unless filtered).

| outcome | error.type | how it is detected | duration |
|---|---|---|---|
| established | (absent) | \`inet_sock_set_state\` SYN_SENT → ESTABLISHED | SYN sent → ESTABLISHED |
| refused (RST to the SYN) | \`ECONNREFUSED\` | SYN_SENT → CLOSE, \`sk_err\` set by \`tcp_reset\` | SYN sent → CLOSE |
| timed out (SYN retries exhausted) | \`ETIMEDOUT\` (or the last soft error, as the kernel reports it) | SYN_SENT → CLOSE, \`sk_err\` set by \`tcp_write_err\` | SYN sent → CLOSE (≈ the SYN backoff: 1+2+4… s up to \`tcp_syn_retries\`) |
| ICMP unreachable | \`EHOSTUNREACH\`, \`ENETUNREACH\`, \`ECONNREFUSED\` (port unreachable)… | During SYN_SENT this kernel treats ICMP unreachable as a soft error (\`sk_err_soft\`, SYNs continue). The error is taken when the application reads it (\`getsockopt(SO_ERROR)\` entry, or the error connect() returns) or from \`inet_sk_error_report\`, and reported when the socket closes. If the application waits on, the attempt ends by timeout with that error. | SYN sent → CLOSE |
| reset during the handshake, other socket errors | the errno on the socket | SYN_SENT → CLOSE with \`sk_err\` | SYN sent → CLOSE |
| abandoned (closed by the application with no error) | \`ECONNABORTED\` | SYN_SENT → CLOSE with no error on the socket | SYN sent → CLOSE |
| failed before any SYN: no route, no local address, policy | \`ENETUNREACH\`, \`EADDRNOTAVAIL\`, \`EACCES\`, \`EPERM\`… | \`syscalls:sys_exit_connect\` returned an error for a TCP socket that never reached SYN_SENT (target address from \`sys_enter_connect\`) | connect() entry → return |

Not double counted: a blocking connect() that returns the error of an attempt already reported
from the state change, and a later connect() on a non-blocking socket that returns its stored error
(\`EALREADY\`/\`EISCONN\` are never failures) are recognised by the socket (its cookie) and skipped.

**Pending connects** are followed from SYN_SENT to their outcome in a preallocated hash keyed by
the socket's address (\`max_attempts\`, 120 bytes of locked kernel memory per entry, measured;
default 65,536 = 7.5 MiB). Nothing followed is evicted; an outcome frees its entry. When
\`max_attempts\` connects are pending at once, a new connect is not followed at all: its outcome is
missing from the histogram and the events (and the error its connect() returns is not reported as
a failure before any SYN). Each such connect is counted (\`tcpscope.receiver.dropped_events\` with
\`reason=attempt_untracked\`) and the first is logged with the key to raise.

**Server side.** \`SYN_RECV → ESTABLISHED\` of the child socket is recorded with role \`server\`; its
duration is the kernel's SYN-ACK RTT sample (SYN-ACK sent → final ACK), taken just before
ESTABLISHED. The time between the SYN's arrival and the SYN-ACK is not exposed by a tracepoint.
**Not observable with tracepoints**: server handshakes that never complete (request sockets that
time out or are dropped from a full SYN queue live only as request sockets, which have no state
change tracepoint; \`tcp:tcp_retransmit_synack\` shows retries, not the final drop).

**Local port of failed attempts.** The kernel releases the local port before the CLOSE transition
is traced. It is known when connect() returned \`EINPROGRESS\` before the outcome (non-blocking
sockets on real networks); otherwise \`network.local.port\` is absent (never 0). Sync failures
have no local address.

**Filters** (\`connect_only\`, \`failed_only\`, \`ports\`, \`cgroup_prefix\`) are \`const volatile\`
settings and a cgroup-id set evaluated in the kernel: filtered events never reach the ring buffer,
and the histogram is updated before any filter. The cgroup-id set follows the \`cgroup_prefix\`
subtree at each collection (new cgroups in, removed ones out) and holds \`max_filter_cgroups\`
ids; beyond it the others make no events, said once in the log.

**Overflow.** Beyond \`max_series\` (cgroup, role, error) series, attempts go to one series that
carries only \`otel.metric.overflow=true\`: no role and no \`error.type\`, so it is never read as
successful client handshakes.
`;

const RTT_NOTES = `## RTT histograms (tcp_rtt)

**What a sample is.** The hook is \`tp_btf/tcp_probe\`, which the kernel fires for incoming
segments on established connections (\`tcp_rcv_established\`). Each run reads the socket's smoothed
RTT, \`tcp_sock.srtt_us >> 3\` in whole microseconds, i.e. the kernel's own EWMA (gain 1/8) of
its RTT measurements, as it stands *before* that segment is processed: the tracepoint fires at
the top of \`tcp_rcv_established\`, so an ACK's own RTT measurement shows up in the next sample of
that socket, not in its own; sockets without a measurement yet (srtt 0) are skipped. So a sample is "the connection's smoothed RTT at an incoming segment".
By default (\`sample_interval: 50ms\`) a socket gives at most one sample per 50 ms, at its first
incoming segment once the interval has passed, so connections weigh by their time, not by their
packet count; with \`sample_interval: 0\` every segment is a sample, and a busy connection, or
one in loss recovery with its duplicate ACKs, contributes far more samples than a quiet one
(why 50 ms, measured: the receiver's README). The raw per-ACK measurement is not in the tracepoint's
arguments and is not reported.

**Why tcp_probe and not sockops.** A \`sockops\` program on a cgroup v2 (\`BPF_SOCK_OPS_RTT_CB\`)
also sees every RTT measurement, but it only covers sockets of the cgroup subtree it is attached
to and must be enabled per socket (\`bpf_sock_ops_cb_flags_set\`) from another callback, so sockets
that existed before the agent are missed. The tracepoint sees every TCP socket of the host with no
per-socket setup; that decided it. Measured side by side (\`node dist/bench/rtt_hooks.js\`,
ping-pong on loopback, 16 connections, a sockops program doing the same gate and the same
per-cgroup update; docs/benchmarks.md, "tcp_rtt: what a segment costs"): per run 181 ns (sockops,
every RTT measurement) against 196 ns (tcp_probe, every segment), 188 ns for both with the 50 ms
gate, but sockops also runs for its other callbacks (2.4-3.1 runs per round trip against 2.2), so
per round trip it costs as much or more. Neither the cost nor the sampled value (sockops' srtt
already includes the ACK's own measurement) outweighs the coverage.

**Not every segment is a sample.** A sample is a run of the program at \`tcp:tcp_probe\`, which
fires once per skb that reaches \`tcp_rcv_established\`. \`tcp_v4_rcv\` counts every segment in
the socket's \`segs_in\` (a GRO'd or backlog-coalesced skb by its segment count) before that, and
the handshake's segments are counted but processed in \`tcp_rcv_state_process\` instead (the
SYN-ACK for the connecting end; the SYN and the ACK that completed the handshake for an accepted
socket), so with \`sample_interval: 0\` a socket gives at most \`segs_in - 1\` samples, an accepted one \`segs_in - 2\`. Fewer
when the kernel merges segments into one skb (\`TcpExtTCPBacklogCoalesce\`, GRO), and fewer when a
run does not happen: the kernel skips a run of the program when it is already running on that CPU
(softirq processing a segment while the program runs in process context for another, during the
socket backlog at \`release_sock\`), counted per program in \`tcpscope.receiver.missed_runs\`
(\`bpf_prog_info.recursion_misses\`). Measured on Linux 6.18, a run can also not happen without
being counted. On a tbf-shaped ping-pong connection (64 kbit/s, 300 round trips), a tracefs
instance recording \`tcp:tcp_probe\` beside the program saw exactly \`segs_in - 1\` events for
the client socket up to the last reply (and \`segs_in - 2\` for the accepted one), none merged (\`TcpExtTCPBacklogCoalesce\` 0, every event
one reply or one pure ACK), and the program ran for all but 0 to 3 of them, with
\`recursion_misses\` 0 (\`bpftool prog show\` agrees). Every event it missed, and only those,
was raised in a softirq run on top of one particular thread of another process on the host, where
tbf's watchdog timer had released the reply; replies processed over any other task (the sender,
an idle CPU, ksoftirqd, a busy loop, a process making map syscalls) were all sampled, and on an
unshaped link or loopback, where the sender's own softirq processes each segment, the count up
to the last reply was exactly that bound on both ends. What that thread does that keeps the program from running is not
known here. So the sample count is at most the segments received in ESTABLISHED, and on some hosts
a few per thousand short of it with nothing counting the difference.

**Buckets.** The kernel keeps an OpenTelemetry exponential histogram at scale 3 over the RTT in
seconds: bucket k is OTel index i = k - 160 and holds (2^(i/8), 2^((i+1)/8)] s, from 1 us (index
-160) to 4096 s. Because samples are whole microseconds, the kernel compares them with integer
upper bounds floor(1e6 * 2^((i+1)/8)) us that user space computes and writes before load; at
exact powers of two (e.g. 1 s = 1,000,000 us) the value falls in the bucket below, as
OpenTelemetry's (lower, upper] rule says. A scale s < 3 is an exact merge (index i >> (3 - s)). A
test checks values at and around every power of two, at every scale 0..3, against the
OpenTelemetry SDK's own mapping. With \`histogram: explicit\` the same data goes out as explicit
buckets with upper bounds 2^j s (the scale-0 boundaries, so again exact).

**Series.** One per cgroup (and per peer address / port with \`group_by\`); per-CPU in the
kernel, summed at collection. At \`max_series\` further data goes to one series with
\`otel.metric.overflow=true\` and is counted. Series of cgroups that no longer exist are removed
from the kernel map after the export that carries their last values (see tcp_lifecycle above);
cgroup ids are 64-bit kernfs ids, not reused while the system runs, so a new cgroup never
inherits an old histogram.
`;

function attributeList(attributes: readonly AttributeDefinition[]): string {
  return attributes.map((a) => `\`${a.key}\``).join(', ');
}

export function renderTelemetryDoc(): string {
  const out: string[] = [INTRO, '## Metrics', ''];
  out.push('| name | instrument | unit | description | attributes | emitted by |', '|---|---|---|---|---|---|');
  for (const m of Object.values(METRICS)) {
    const notes = 'notes' in m ? ` ${m.notes}` : '';
    out.push(`| \`${m.name}\` | ${m.instrument} | \`${m.unit}\` | ${m.description}${notes} | ${attributeList(m.attributes)} | ${m.emittedBy.join(', ')} |`);
  }
  out.push('', '## Events', '', 'Log records whose event name (`EventName`) is:', '');
  out.push('| event | description | attributes | emitted by |', '|---|---|---|---|');
  for (const e of Object.values(EVENTS)) {
    out.push(`| \`${e.name}\` | ${e.description} | ${attributeList(e.attributes)} | ${e.emittedBy.join(', ')} |`);
  }
  out.push('', '## Attributes added by processors', '', '| processor | attributes | from |', '|---|---|---|');
  for (const p of PROCESSOR_ATTRIBUTES) out.push(`| ${p.processor} | ${attributeList(p.attributes)} | ${p.source} |`);
  out.push('', 'Until the first list of this node\'s pods completes (and while the API server cannot be reached), events and data points pass through with what is known: `container.id` and `k8s.pod.uid` always, names once the pod is known. Nothing waits for the API and nothing is dropped.');
  out.push('', '## Attributes', '', '| key | type | description | example |', '|---|---|---|---|');
  for (const a of Object.values(ATTR)) out.push(`| \`${a.key}\` | ${a.type} | ${a.description} | \`${a.example}\` |`);
  out.push('', NOTES, HANDSHAKE_NOTES, RTT_NOTES);
  return out.join('\n');
}
