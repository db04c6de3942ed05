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
const WORKLOAD = [ATTR.handshakeRole, ATTR.processLinuxCgroup, ATTR.cgroupId, ATTR.overflow];

export const METRICS = {
  connectionDuration: {
    name: 'system.network.tcp.connection.duration',
    instrument: 'histogram',
    unit: 's',
    description: 'Lifetime of closed TCP connections, from ESTABLISHED to CLOSE.',
    attributes: WORKLOAD,
    emittedBy: ['tcp_lifecycle'],
    notes:
      'Explicit buckets with upper bounds 2^i microseconds (i = 0..35, about 1 us to 9.5 h) plus an overflow bucket, counted in the kernel; bounds are (lower, upper] as OpenTelemetry defines them. Sum and count are exact.',
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
  droppedEvents: {
    name: 'tcpscope.receiver.dropped_events',
    instrument: 'counter',
    unit: '{event}',
    description: 'Events lost because the kernel ring buffer was full. Metrics are unaffected: they are aggregated in the kernel before the ring buffer.',
    attributes: [ATTR.receiver],
    emittedBy: ['tcp_lifecycle'],
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
} as const satisfies Record<string, MetricDefinition>;

const CLOSE_FIELDS = [
  ATTR.tcpDuration,
  ATTR.tcpBytesSent,
  ATTR.tcpBytesReceived,
  ATTR.tcpSegmentsSent,
  ATTR.tcpSegmentsReceived,
  ATTR.tcpRetransmits,
  ATTR.tcpRtt,
];

export const EVENTS = {
  connect: {
    name: 'tcp.connect',
    description: 'An outbound connection reached ESTABLISHED. Timestamp: the moment of the transition.',
    attributes: SOCKET,
    emittedBy: ['tcp_lifecycle'],
  },
  accept: {
    name: 'tcp.accept',
    description:
      'An inbound connection reached ESTABLISHED and a process accepted it. Emitted when accept() returns (that is when the owner is known); timestamp: the moment it reached ESTABLISHED.',
    attributes: SOCKET,
    emittedBy: ['tcp_lifecycle'],
  },
  close: {
    name: 'tcp.close',
    description: 'An established connection closed (any way: FIN, RST, timeout). Timestamp: the CLOSE transition.',
    attributes: [...SOCKET, ...CLOSE_FIELDS],
    emittedBy: ['tcp_lifecycle'],
  },
} as const satisfies Record<string, EventDefinition>;
