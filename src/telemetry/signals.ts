// Every metric and event tcpscope emits, with the attributes each carries. Receivers take their
// names from here and docs/telemetry.md is generated from here, so the two cannot drift.
import { ATTR, type AttributeDefinition } from './attributes';

export type InstrumentKind = 'histogram' | 'counter' | 'updowncounter';

export interface MetricDefinition {
  readonly name: string;
  readonly instrument: InstrumentKind;
  readonly unit: string;
  readonly description: string;
  readonly attributes: readonly AttributeDefinition[];
  readonly emittedBy: readonly string[];
  readonly notes?: string;
}

export interface EventDefinition {
  readonly name: string;
  readonly description: string;
  readonly attributes: readonly AttributeDefinition[];
  readonly emittedBy: readonly string[];
}

const SOCKET = [
  ATTR.networkTransport,
  ATTR.networkType,
  ATTR.localAddress,
  ATTR.localPort,
  ATTR.peerAddress,
  ATTR.peerPort,
  ATTR.handshakeRole,
  ATTR.processPid,
  ATTR.processExecutableName,
  ATTR.processLinuxCgroup,
  ATTR.cgroupId,
  ATTR.netnsInode,
];
const TUPLE = [ATTR.networkTransport, ATTR.networkType, ATTR.localAddress, ATTR.localPort, ATTR.peerAddress, ATTR.peerPort];
const WORKLOAD = [ATTR.handshakeRole, ATTR.processLinuxCgroup, ATTR.cgroupId, ATTR.overflow];

export const METRICS = {
  connectionDuration: {
    name: 'system.network.tcp.connection.duration',
    instrument: 'histogram',
    unit: 's',
    description:
      'Lifetime of closed TCP connections, from ESTABLISHED to CLOSE, by how they ended (tcp.connection.end): its count by tcp.connection.end answers "connections of pod X that ended badly" without a join.',
    attributes: [...WORKLOAD, ATTR.tcpConnectionEnd],
    emittedBy: ['tcp_lifecycle'],
    notes:
      'Explicit buckets with upper bounds 2^i microseconds (i = 0..35, about 1 us to 9.5 h) plus an overflow bucket, counted in the kernel; bounds are (lower, upper] as OpenTelemetry defines them. Sum and count are exact. tcp.connection.end has 5 values, so a (cgroup, role) has at most 5 series; the kernel counts each (cgroup, role, end) apart, with the same end as the tcp.close event of each connection.',
  },
  handshakeDuration: {
    name: 'system.network.tcp.handshake.duration',
    instrument: 'histogram',
    unit: 's',
    description:
      'One record per terminal outcome of each TCP handshake: its count is the number of attempts, so the success rate is one query (count without error.type / all).',
    attributes: [ATTR.handshakeRole, ATTR.errorType, ATTR.processLinuxCgroup, ATTR.cgroupId, ATTR.overflow],
    emittedBy: ['tcp_handshake'],
    notes:
      'Same explicit buckets as the connection duration (2^i microseconds). Counted in the kernel before any event filter: failed_only, connect_only, ports and cgroup_prefix never change it.',
  },
  rttDuration: {
    name: 'system.network.tcp.rtt.duration',
    instrument: 'histogram',
    unit: 's',
    description:
      'Smoothed RTT of established TCP connections (tcp_sock.srtt_us >> 3) as it stands when an incoming segment reaches tcp_rcv_established (tcp:tcp_probe), i.e. before that segment is processed; by default at most once per socket per sample_interval (50 ms: the first such segment once the interval has passed, so connections weigh by time, not by packet count), or with sample_interval 0 every such segment (at most segs_in - 1 per socket, segs_in - 2 for an accepted one). Runs the kernel skipped are counted in tcpscope.receiver.missed_runs; runs that did not happen uncounted are possible (see "RTT histograms").',
    attributes: [ATTR.processLinuxCgroup, ATTR.cgroupId, ATTR.peerAddress, ATTR.peerPort, ATTR.overflow],
    emittedBy: ['tcp_rtt'],
    notes:
      'An OpenTelemetry exponential histogram (cumulative, start time = receiver start) at the configured scale 0..3; the kernel keeps scale 3 over seconds, so lower scales are exact merges. With `histogram: explicit`, explicit buckets with upper bounds 2^j s (j = -20..7). network.peer.* only with group_by peer_address / peer_port.',
  },
  io: {
    name: 'system.network.tcp.io',
    instrument: 'counter',
    unit: 'By',
    description: 'Payload bytes of closed TCP connections (SYN and FIN excluded).',
    attributes: [ATTR.ioDirection, ...WORKLOAD],
    emittedBy: ['tcp_lifecycle'],
  },
  connectionCount: {
    name: 'system.network.connection.count',
    instrument: 'updowncounter',
    unit: '{connection}',
    description: 'TCP connections currently established that the agent saw being established.',
    attributes: [ATTR.networkTransport, ATTR.connectionState, ...WORKLOAD],
    emittedBy: ['tcp_lifecycle'],
    notes: 'Connections that were already established when the agent started are not counted (the kernel hook sees transitions, not existing state).',
  },
  // tcp_anomalies
  retransmits: {
    name: 'system.network.tcp.retransmits',
    instrument: 'counter',
    unit: '{segment}',
    description:
      'TCP segments retransmitted (tcp:tcp_retransmit_skb, counting tcp_skb_pcount of each skb as tcp_sock.total_retrans does, so a socket\'s count equals its TCP_INFO tcpi_total_retrans; and tcp:tcp_retransmit_synack), by what was retransmitted and what triggered it.',
    attributes: [ATTR.tcpRetransmitKind, ATTR.tcpRetransmitTrigger, ATTR.processLinuxCgroup, ATTR.cgroupId, ATTR.overflow],
    emittedBy: ['tcp_anomalies'],
    notes: 'SYN-ACK retransmissions are counted on the listener\'s cgroup (the request socket has none).',
  },
  resets: {
    name: 'system.network.tcp.resets',
    instrument: 'counter',
    unit: '{reset}',
    description:
      'TCP resets sent (tcp:tcp_send_reset, with the kernel\'s reason) and received (tcp:tcp_receive_reset, on a socket: a reset that matched no socket is not traced by the kernel).',
    attributes: [ATTR.ioDirection, ATTR.tcpResetReason, ATTR.processLinuxCgroup, ATTR.cgroupId, ATTR.overflow],
    emittedBy: ['tcp_anomalies'],
    notes:
      'A reset sent with no full socket (a segment no socket wanted: `NO_SOCKET`; a time-wait or request socket) is counted in the host series, without a cgroup attribute.',
  },
  drops: {
    name: 'system.network.tcp.drops',
    instrument: 'counter',
    unit: '{packet}',
    description:
      'TCP packets the kernel dropped (skb:kfree_skb), by the kernel\'s drop reason; TCP-related reasons only (see tcp.drop.reason), filtered in the kernel before anything else runs.',
    attributes: [ATTR.tcpDropReason, ATTR.processLinuxCgroup, ATTR.cgroupId, ATTR.overflow],
    emittedBy: ['tcp_anomalies'],
    notes:
      'On the cgroup of the packet\'s socket (a sent packet\'s owner; a received packet\'s socket where the kernel passes it, 6.11+); a packet without a full socket (e.g. NO_SOCKET) goes to the host series, without a cgroup attribute. Not reported on kernels before 5.17 (no drop reasons). A zero-window probe from a peer whose window this host closed arrives as `TCP_OLD_SEQUENCE` on the receiver: the trace of a receiver that does not read.',
  },
  bufferPressure: {
    name: 'system.network.tcp.buffer.pressure',
    instrument: 'counter',
    unit: '{event}',
    description:
      'Socket buffer pressure on TCP sockets: a receive queue that refused a packet (sock:sock_rcvqueue_full) and TCP memory over its limit (sock:sock_exceed_buf_limit). TCP\'s own receive-memory drops are in system.network.tcp.drops (PROTO_MEM, TCP_ZEROWINDOW, TCP_OFO_DROP).',
    attributes: [ATTR.tcpBufferPressureKind, ATTR.processLinuxCgroup, ATTR.cgroupId, ATTR.overflow],
    emittedBy: ['tcp_anomalies'],
    notes: 'TCP queues received data through its own path, so `receive_queue_full` stays rare for TCP sockets; `memory_limit_*` appears only under host-wide TCP memory pressure.',
  },
  droppedEvents: {
    name: 'tcpscope.receiver.dropped_events',
    instrument: 'counter',
    unit: '{event}',
    description:
      'Events lost, by reason. `ring_buffer_full`: the kernel ring buffer was full; metrics are unaffected (aggregated in the kernel before the ring buffer). `connection_untracked` (tcp_lifecycle): a TCP socket was not followed because `max_connections` sockets were followed at once; counted once per socket, whose open and close events are lost and which is missing from the connection metrics too. `attempt_untracked` (tcp_handshake): a connect was not followed because `max_attempts` connects were pending at once; counted once per connect, whose outcome is missing from the handshake histogram and the events.',
    attributes: [ATTR.receiver, ATTR.dropReason],
    emittedBy: ['tcp_lifecycle', 'tcp_handshake', 'tcp_anomalies'],
    notes: 'Every reason a receiver can have is reported, zero included, `ring_buffer_full` first.',
  },
  overflowUpdates: {
    name: 'tcpscope.receiver.overflow_updates',
    instrument: 'counter',
    unit: '{update}',
    description:
      'Kernel aggregate updates that went to the overflow series (otel.metric.overflow=true) because the receiver\'s series map was full (max_cgroups / max_series). Nothing is lost from the totals, only the attribution to a workload.',
    attributes: [ATTR.receiver],
    emittedBy: ['tcp_lifecycle', 'tcp_handshake', 'tcp_rtt', 'tcp_anomalies'],
  },
  missedRuns: {
    name: 'tcpscope.receiver.missed_runs',
    instrument: 'counter',
    unit: '{run}',
    description:
      'Runs of a kernel program that the kernel skipped because the same program was already running on that CPU (bpf_prog_info.recursion_misses): typically softirq packet processing interrupting the program in process context. Whatever that run would have counted or reported is missing: "metrics are complete" holds up to these runs.',
    attributes: [ATTR.receiver, ATTR.program],
    emittedBy: ['tcp_lifecycle', 'tcp_handshake', 'tcp_rtt', 'tcp_anomalies'],
    notes: 'One data point per loaded program of the receiver, zero included. For tcp_rtt a missed run is a missed RTT sample; for tcp_lifecycle and tcp_handshake it can be a missed transition (an event and its metrics). Measured on Linux 6.18, a tp_btf program on tcp:tcp_probe can also not run for a segment without being counted here: on a tbf-shaped link, 0-3 of 301 replies released by tbf\'s timer in a softirq on top of one particular host thread (see "RTT histograms").',
  },
  sampledOutEvents: {
    name: 'tcpscope.receiver.sampled_out_events',
    instrument: 'counter',
    unit: '{event}',
    description:
      'Events the sampling processor\'s predicate dropped in the kernel, where it is pushed down when every logs pipeline of the receiver starts with the same sampling processor: they never crossed the ring buffer. Intended, not lost (the processor would have dropped them), so not part of tcpscope.receiver.dropped_events.',
    attributes: [ATTR.receiver],
    emittedBy: ['tcp_lifecycle', 'tcp_handshake', 'tcp_anomalies'],
  },
  capturePackets: {
    name: 'tcpscope.capture.packets',
    instrument: 'counter',
    unit: '{packet}',
    description:
      'Packets that packet_capture captures selected, by outcome: written to pcapng, or skipped by sampling, by the rate limit, or lost (ring buffer full). Every selected packet of a running capture is counted once, until its packet, byte or duration bound ends it.',
    attributes: [ATTR.receiver, ATTR.captureOutcome],
    emittedBy: ['packet_capture'],
    notes: 'Cumulative over every capture of the receiver since the agent started; a running capture\'s counts are included as they stand.',
  },
  captureTriggers: {
    name: 'tcpscope.capture.triggers',
    instrument: 'counter',
    unit: '{trigger}',
    description:
      'Triggers packet_capture\'s trigger watch saw (with `triggers.enabled`), by reason (`failed_connect`, `reset`, `retransmit_burst`) and outcome: a capture started, or not because of the connection\'s cooldown or because `triggers.max_captures` were running.',
    attributes: [ATTR.receiver, ATTR.captureReason, ATTR.captureOutcome],
    emittedBy: ['packet_capture'],
  },
  exporterDroppedItems: {
    name: 'tcpscope.exporter.dropped_items',
    instrument: 'counter',
    unit: '{item}',
    description:
      'Items an exporter gave up on: batches pushed out of a full retry queue while the backend was unreachable, retries past max_elapsed_time, permanent errors, failed file writes.',
    attributes: [ATTR.exporter, ATTR.signal],
    emittedBy: ['otlp', 'file (agent self-telemetry, added to every metrics export)'],
  },
  exporterQueueSize: {
    name: 'tcpscope.exporter.queue_size',
    instrument: 'updowncounter',
    unit: '{batch}',
    description:
      'Batches an exporter holds for delivery, the one being sent included, as it stands when the metrics are exported. Grows while the backend is unreachable or slow; at the exporter\'s queue_size the oldest batches are dropped (counted in tcpscope.exporter.dropped_items).',
    attributes: [ATTR.exporter, ATTR.signal],
    emittedBy: ['otlp (agent self-telemetry, added to every metrics export)'],
  },
  exporterEventDelay: {
    name: 'tcpscope.exporter.event_delay',
    instrument: 'histogram',
    unit: 's',
    description:
      'Time from an event in the kernel (the log record\'s timestamp) to its hand-off to the exporter, measured per record: ring buffer batching (a wake-up per `wakeup_min_bytes` of pending events, or the receiver\'s `drain_interval` when traffic is quiet), decoding, the processors and back-pressure. The exporter\'s own batching and sending come after it.',
    attributes: [ATTR.exporter],
    emittedBy: ['agent (self-telemetry for every exporter in a logs pipeline, added to every metrics export)'],
    notes:
      'Explicit buckets with upper bounds 1, 1.5, 2, 3, 5, 7.5 ms per decade from 1 ms to 10 s plus an overflow bucket; cumulative from the agent\'s start, with min and max. tcp.accept is stamped with its ESTABLISHED transition but reported when accept() returns, so its delay includes the time the application took to accept. Records are stamped and measured through one clock, so a delay is never negative; one below 0 (the wall clock stepped back) counts as 0.',
  },
  processMemoryUsage: {
    name: 'process.memory.usage',
    instrument: 'updowncounter',
    unit: 'By',
    description: 'Resident set size (RSS) of the agent process, as it stands when the metrics are exported.',
    attributes: [],
    emittedBy: ['agent (self-telemetry, added to every metrics export)'],
    notes: 'OpenTelemetry semantic conventions (process metrics); the process is the agent, described by the Resource.',
  },
  processCpuTime: {
    name: 'process.cpu.time',
    instrument: 'counter',
    unit: 's',
    description: 'CPU time the agent process used since it started, by cpu.mode (all its threads: the event loop, libuv workers, the ring buffer readers).',
    attributes: [ATTR.cpuMode],
    emittedBy: ['agent (self-telemetry, added to every metrics export)'],
    notes: 'OpenTelemetry semantic conventions (process metrics); cumulative, with the process start as start time.',
  },
} as const satisfies Record<string, MetricDefinition>;

const CLOSE_FIELDS = [
  ATTR.tcpDuration,
  ATTR.tcpBytesSent,
  ATTR.tcpBytesReceived,
  ATTR.tcpSegmentsSent,
  ATTR.tcpSegmentsReceived,
  ATTR.tcpRetransmits,
  ATTR.tcpRtt,
  ATTR.tcpConnectionEnd,
];

export const EVENTS = {
  connect: {
    name: 'tcp.connect',
    description:
      'The terminal outcome of an outbound connection attempt. From tcp_lifecycle: it reached ESTABLISHED (with `tcp.handshake.duration`). From tcp_handshake: every outcome, failures with `error.type`; when both receivers feed one logs pipeline, successes come from tcp_lifecycle only (one event per attempt), unless its `events` key leaves tcp.connect out. Timestamp: the outcome.',
    attributes: [...SOCKET, ATTR.tcpHandshakeDuration, ATTR.errorType, ATTR.socketFd],
    emittedBy: ['tcp_lifecycle', 'tcp_handshake'],
  },
  accept: {
    name: 'tcp.accept',
    description:
      'An inbound connection reached ESTABLISHED. From tcp_lifecycle: emitted when accept() returns (that is when the owner is known), stamped with the time of the transition. From tcp_handshake (only when no tcp_lifecycle writing tcp.accept shares its logs pipeline): at the transition, with `tcp.handshake.duration` and no process.',
    attributes: [...SOCKET, ATTR.tcpHandshakeDuration],
    emittedBy: ['tcp_lifecycle', 'tcp_handshake'],
  },
  close: {
    name: 'tcp.close',
    description: 'An established connection closed (any way: FIN, RST, timeout). Timestamp: the CLOSE transition.',
    attributes: [...SOCKET, ...CLOSE_FIELDS],
    emittedBy: ['tcp_lifecycle'],
  },
  // tcp_anomalies
  reset: {
    name: 'tcp.reset',
    description:
      'A TCP reset sent (`network.io.direction=transmit`, with `tcp.reset.reason`) or received (`receive`). The tuple is local first (for a reset to a segment no socket wanted: the segment\'s destination is local). `process.pid` only when the reset was sent by a call of the socket\'s own process (close() with unread data or SO_LINGER 0, disconnect): resets sent on incoming segments or timers, and received ones, happen outside any process. Timestamp: the reset.',
    attributes: [...TUPLE, ATTR.ioDirection, ATTR.tcpResetReason, ATTR.connectionState, ATTR.processPid, ATTR.processExecutableName, ATTR.processLinuxCgroup, ATTR.cgroupId, ATTR.netnsInode, ATTR.tcpStack],
    emittedBy: ['tcp_anomalies'],
  },
  retransmit: {
    name: 'tcp.retransmit',
    description:
      'A connection retransmitted: its first retransmission seen, then at most one event per `event_interval` (rate-limited in the kernel, per connection), each with `tcp.retransmits`, the segments retransmitted on the connection so far (since the agent started). The metric counts every one. SYN-ACK retransmissions make no event.',
    attributes: [...TUPLE, ATTR.tcpRetransmitKind, ATTR.tcpRetransmitTrigger, ATTR.tcpRetransmits, ATTR.connectionState, ATTR.processLinuxCgroup, ATTR.cgroupId, ATTR.netnsInode],
    emittedBy: ['tcp_anomalies'],
  },
  drop: {
    name: 'tcp.drop',
    description:
      'A TCP packet dropped by the kernel, with `tcp.drop.reason` (opt-in: `drop_events: true`). The tuple is the socket\'s when the packet had one, else the packet\'s with its destination as local.',
    attributes: [...TUPLE, ATTR.tcpDropReason, ATTR.connectionState, ATTR.processLinuxCgroup, ATTR.cgroupId, ATTR.netnsInode, ATTR.tcpStack],
    emittedBy: ['tcp_anomalies'],
  },
  captureFinished: {
    name: 'tcp.capture.finished',
    description:
      'A packet capture ended: the pcapng files it wrote, what it selected, what it captured and skipped, why it started and why it ended. Timestamp: the end.',
    attributes: [ATTR.captureId, ATTR.captureName, ATTR.captureReason, ATTR.captureEnd, ATTR.captureSelection, ATTR.captureFiles, ATTR.capturePackets, ATTR.captureBytes, ATTR.captureSkipped],
    emittedBy: ['packet_capture'],
  },
} as const satisfies Record<string, EventDefinition>;
