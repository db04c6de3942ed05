// The agent modes a benchmark run compares, how each is named in the report, and the agent config
// each one runs. Sampled modes carry their ratio: `sampled:R` pushes the sampling predicate down
// into the kernel (the default), `userspace-sampled:R` turns push-down off, so that every event
// crosses the ring buffer and the processor drops it in the agent.
import { join } from 'node:path';
import { PEER_NAMES, PEERS, type PeerName } from './peers';

export type FixedMode = 'off' | 'metrics' | 'events' | 'close-events' | 'rtt' | 'otlp' | 'otlp-gzip' | 'anomalies' | 'capture' | 'capture-watch';
export type SampledMode = `sampled:${number}` | `userspace-sampled:${number}`;
/** A peer tool (bench/peers.ts) instead of the agent, under the same load. */
export type PeerMode = `peer:${PeerName}`;
export type Mode = FixedMode | SampledMode | PeerMode;
/** The modes that run tcpscope. */
export type AgentMode = Exclude<Mode, 'off' | PeerMode>;

const FIXED_MODES: readonly FixedMode[] = ['off', 'metrics', 'events', 'close-events', 'rtt', 'otlp', 'otlp-gzip', 'anomalies', 'capture', 'capture-watch'];
const SAMPLED_PREFIXES = ['sampled', 'userspace-sampled'] as const;

/** For `--help`: what --modes accepts. */
export const MODE_SYNTAX = `${FIXED_MODES.join(',')},sampled:R,userspace-sampled:R,${PEER_NAMES.map((p) => `peer:${p}`).join(',')}`;

/** The peer tool a mode runs, or undefined for the agent's modes and off. */
export function peerOf(mode: Mode): PeerName | undefined {
  return mode.startsWith('peer:') ? (mode.slice('peer:'.length) as PeerName) : undefined;
}

export interface ModeSampling {
  readonly ratio: number;
  /** True: the kernel drops what the processor would (sampling_pushdown: true). */
  readonly pushdown: boolean;
}

export function samplingOf(mode: Mode): ModeSampling | undefined {
  if (peerOf(mode)) return undefined;
  const [prefix, ratio] = mode.split(':');
  if (ratio === undefined) return undefined;
  return { ratio: Number(ratio), pushdown: prefix === 'sampled' };
}

/** A mode from its --modes spelling, or undefined when it is none. */
export function parseMode(text: string): Mode | undefined {
  if ((FIXED_MODES as readonly string[]).includes(text)) return text as FixedMode;
  if (text.startsWith('peer:')) {
    const name = text.slice('peer:'.length);
    return (PEER_NAMES as readonly string[]).includes(name) ? (text as PeerMode) : undefined;
  }
  const [prefix, ratioText, ...rest] = text.split(':');
  if (rest.length > 0 || !(SAMPLED_PREFIXES as readonly string[]).includes(prefix) || !ratioText) return undefined;
  const ratio = Number(ratioText);
  if (!(ratio >= 0 && ratio <= 1)) return undefined;
  return `${prefix as (typeof SAMPLED_PREFIXES)[number]}:${ratio}`;
}

export function modeLabel(mode: Mode): string {
  const peer = peerOf(mode);
  if (peer) return PEERS[peer].label;
  const sampling = samplingOf(mode);
  if (sampling) return sampling.pushdown ? `events sampled ${sampling.ratio}, push-down` : `events sampled ${sampling.ratio}, in the agent`;
  return {
    off: 'agent off',
    metrics: 'metrics only',
    events: 'every connection as a log event',
    'close-events': 'every connection as a log event, tcp.close only',
    rtt: 'tcp_rtt metrics',
    otlp: 'every connection as a log event, otlp exporter',
    'otlp-gzip': 'every connection as a log event, otlp exporter, gzip',
    anomalies: 'tcp_anomalies metrics and events (drops counted)',
    capture: 'packet_capture, no capture running',
    'capture-watch': 'packet_capture trigger watch on every packet',
  }[mode as FixedMode];
}

/** Whether the mode has a logs pipeline (events cross to the agent, all or sampled). */
export function hasEvents(mode: Mode): boolean {
  return mode === 'events' || mode === 'close-events' || isOtlp(mode) || samplingOf(mode) !== undefined;
}

/** Log records per completed connection of the load: connect, accept and a close on each end, or the closes alone. */
export function eventsPerConnection(mode: Mode): number {
  return mode === 'close-events' ? 2 : 4;
}

/** Whether the mode exports its logs with the otlp exporter, to a loopback receiver that counts (bench/otlp_sink.ts). */
export function isOtlp(mode: Mode): boolean {
  return mode === 'otlp' || mode === 'otlp-gzip';
}

function rank(mode: Mode): number[] {
  const peer = peerOf(mode);
  if (peer) return [10, PEER_NAMES.indexOf(peer)];
  const sampling = samplingOf(mode);
  if (!sampling) return [[0, 1, 2, 2, 9, 2, 2, 9, 9, 9][FIXED_MODES.indexOf(mode as FixedMode)], FIXED_MODES.indexOf(mode as FixedMode)];
  return [sampling.pushdown ? 3 : 4, -sampling.ratio];
}

/** The canonical order (rounds rotate through the modes in it): off, metrics, events, sampled by falling ratio, rtt, peers. */
export function canonicalOrder(modes: readonly Mode[]): Mode[] {
  return [...new Set(modes)].sort((a, b) => {
    const [x, y] = [rank(a), rank(b)];
    return x[0] - y[0] || x[1] - y[1];
  });
}

/**
 * The agent config of a mode: metrics to a file always (for dropped_events), logs when it has
 * events (k8s_attributes in local mode, then sampling when sampled, to a file or with the otlp
 * exporter to `otlpEndpoint`).
 */
export function agentConfig(mode: AgentMode, dir: string, otlpEndpoint = '127.0.0.1:4317'): string {
  // Paths as JSON strings: valid YAML double-quoted scalars whatever the temp dir contains.
  const metricsPath = JSON.stringify(join(dir, 'metrics.jsonl'));
  const logsPath = JSON.stringify(join(dir, 'logs.jsonl'));
  if (mode === 'anomalies') return anomaliesConfig(metricsPath, logsPath);
  if (mode === 'capture' || mode === 'capture-watch') return captureConfig(mode === 'capture-watch', JSON.stringify(join(dir, 'captures')), metricsPath, logsPath);
  const receiver = mode === 'rtt' ? 'tcp_rtt' : 'tcp_lifecycle';
  const sampling = samplingOf(mode);
  const lines = ['receivers:', `  ${receiver}:`, '    collection_interval: 10s'];
  if (sampling && !sampling.pushdown) lines.push('    sampling_pushdown: false');
  if (mode === 'close-events') lines.push('    events: [tcp.close]');
  // Every events mode enriches with k8s_attributes in local mode (no API server: container.id and
  // k8s.pod.uid from cgroup paths), as the issue's goals are stated: its cost is part of the path.
  if (hasEvents(mode)) lines.push('processors:', '  k8s_attributes:', '    auth_type: none');
  if (sampling) lines.push('  sampling:', `    policies: [{hash: {ratio: ${sampling.ratio}}}]`);
  lines.push('exporters:', '  file/metrics:', `    path: ${metricsPath}`);
  if (isOtlp(mode)) {
    lines.push('  otlp:', `    endpoint: ${otlpEndpoint}`, '    tls: {insecure: true}', `    compression: ${mode === 'otlp-gzip' ? 'gzip' : 'none'}`);
  } else if (hasEvents(mode)) lines.push('  file/logs:', `    path: ${logsPath}`);
  lines.push('service:', '  pipelines:', `    metrics: {receivers: [${receiver}], exporters: [file/metrics]}`);
  const logsExporter = isOtlp(mode) ? 'otlp' : 'file/logs';
  const processors = sampling ? 'k8s_attributes, sampling' : 'k8s_attributes';
  if (hasEvents(mode)) lines.push(`    logs: {receivers: [tcp_lifecycle], processors: [${processors}], exporters: [${logsExporter}]}`);
  return lines.join('\n') + '\n';
}

/**
 * tcp_anomalies alone, as an operator would run it: its metrics, and its events (resets,
 * rate-limited retransmissions) to a file. Its cost against `off` is the receiver's own: the
 * loads make no anomalies, so what it costs is the hooks (kfree_skb above all) running for nothing.
 */
function anomaliesConfig(metricsPath: string, logsPath: string): string {
  return singleReceiverConfig('tcp_anomalies', [], metricsPath, logsPath);
}

/** One receiver (its collection_interval 10s, then `settings`: YAML lines under it) whose metrics and logs go to files. */
function singleReceiverConfig(receiver: string, settings: readonly string[], metricsPath: string, logsPath: string): string {
  return [
    'receivers:',
    `  ${receiver}:`,
    '    collection_interval: 10s',
    ...settings,
    'exporters:',
    '  file/metrics:',
    `    path: ${metricsPath}`,
    '  file/logs:',
    `    path: ${logsPath}`,
    'service:',
    '  pipelines:',
    `    metrics: {receivers: [${receiver}], exporters: [file/metrics]}`,
    `    logs: {receivers: [${receiver}], exporters: [file/logs]}`,
  ].join('\n') + '\n';
}

/**
 * packet_capture as it runs between captures: `capture` with no capture running (nothing of it is
 * loaded or attached, so against `off` it shows that idle costs nothing), `capture-watch` with
 * the trigger watch on the root cgroup, run on every packet of the host (the loads make no
 * failed connects, resets or retransmission bursts: what it costs is keeping each connection's
 * ring of headers).
 */
function captureConfig(watch: boolean, capturesPath: string, metricsPath: string, logsPath: string): string {
  const watchLines = watch ? ['    triggers:', '      enabled: true', '      max_connections: 65536'] : [];
  return singleReceiverConfig('packet_capture', [`    directory: ${capturesPath}`, ...watchLines], metricsPath, logsPath);
}
