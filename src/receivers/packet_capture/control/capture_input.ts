// What a person writes to ask for a capture (the `tcpscope capture start` flags, or one entry of
// the config's service.capture.schedule), turned into the request that crosses the control socket.
// One parser for both, so that a flag and its config key accept the same values and refuse the
// same mistakes with the same words; only the name of the field in the message differs.
import { isIP } from 'node:net';
import { parseDuration } from '../../../exporters/duration';
import type { CaptureBounds, CaptureSelection } from '../capture_api';

/** Pods of this node, by namespace and name, by namespace alone, or by labels (in a namespace or in all). */
export interface PodSelection {
  readonly namespace?: string;
  readonly name?: string;
  /** Every label must match (AND), as a Kubernetes equality selector. */
  readonly labels?: Readonly<Record<string, string>>;
}

/** The body of POST /v1/captures: a capture request whose pods the agent resolves. */
export interface ControlStartRequest {
  /** The packet_capture receiver id; absent: the only one the agent runs. */
  readonly receiver?: string;
  readonly name?: string;
  /** Packets to take, apart from pods (cgroups, addresses, ports, direction). */
  readonly selection: CaptureSelection;
  /** Pods whose containers' cgroups the agent adds to selection.cgroupPaths. */
  readonly pods?: PodSelection;
  readonly bounds?: CaptureBounds;
}

/** The fields as a person writes them: strings (flags, YAML scalars) or the YAML's own types. */
export interface CaptureInput {
  readonly receiver?: unknown;
  readonly name?: unknown;
  readonly cgroup?: unknown;
  readonly pod?: unknown;
  readonly selector?: unknown;
  readonly namespace?: unknown;
  readonly host?: unknown;
  readonly port?: unknown;
  readonly tuple?: unknown;
  readonly bidirectional?: unknown;
  readonly packets?: unknown;
  readonly bytes?: unknown;
  readonly snaplen?: unknown;
  readonly duration?: unknown;
  readonly sample?: unknown;
  readonly rate?: unknown;
}

export type CaptureInputField = keyof CaptureInput;

/** A field that is wrong: `field` names it as the input has it; `message` says what is expected. */
export class CaptureInputProblem extends Error {
  constructor(
    /** The field, or '' for the request as a whole. */
    readonly field: CaptureInputField | '',
    readonly problem: string,
  ) {
    super(field === '' ? problem : `${field}: ${problem}`);
  }
}

/** How the input names its fields in messages: `--pod` for the CLI, `pod` in the config. */
export type FieldNamer = (field: CaptureInputField) => string;

/** Capture names, as capture_api.ts defines them (file names carry them). */
export const CAPTURE_NAME = /^[A-Za-z0-9_.-]{1,64}$/;
// Kubernetes names: a namespace is a DNS label, a pod name a DNS subdomain.
const NAMESPACE = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const POD_NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
const LABEL_KEY = /^([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;
const RECEIVER_ID = /^packet_capture(\/[A-Za-z0-9_.-]+)?$/;
const SIZE = /^(\d+)\s*(B|KiB|MiB|GiB)?$/;
const SIZE_UNITS: Readonly<Record<string, number>> = { B: 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3 };

/** The largest snap length: an IP packet is at most 65535 bytes (and GSO packets are cut there). */
export const MAX_SNAPLEN = 65535;

/**
 * The request for `input`; throws CaptureInputProblem for the first wrong field, in the order
 * receiver, name, selection, bounds.
 */
export function parseCaptureInput(input: CaptureInput, n: FieldNamer = (field) => field): ControlStartRequest {
  const receiver = optionalString(input, 'receiver', RECEIVER_ID, 'must be a packet_capture receiver id, e.g. packet_capture or packet_capture/web');
  const name = optionalString(input, 'name', CAPTURE_NAME, 'must be 1-64 characters of A-Z a-z 0-9 _ . -');
  const cgroupPaths = cgroupsOf(input.cgroup);
  const pods = podsOf(input, n);
  if (pods && cgroupPaths) {
    throw new CaptureInputProblem('cgroup', `cannot be combined with ${n('pod')}, ${n('selector')} or ${n('namespace')}: pods are selected by their own cgroups; give one or the other`);
  }
  const selection: { -readonly [K in keyof CaptureSelection]: CaptureSelection[K] } = {};
  if (cgroupPaths) selection.cgroupPaths = cgroupPaths;
  if (input.tuple !== undefined) {
    if (input.host !== undefined) throw new CaptureInputProblem('host', `cannot be combined with ${n('tuple')} (the tuple names both ends)`);
    if (input.port !== undefined) throw new CaptureInputProblem('port', `cannot be combined with ${n('tuple')} (the tuple names both ends)`);
    Object.assign(selection, tupleOf(input.tuple));
  } else {
    if (input.host !== undefined) selection.sourceAddress = addressOf('host', input.host);
    if (input.port !== undefined) selection.sourcePort = portOf('port', input.port);
  }
  if (input.bidirectional !== undefined) selection.bidirectional = booleanOf('bidirectional', input.bidirectional);
  const selects = Object.keys(selection).some((key) => key !== 'bidirectional') || pods !== undefined;
  if (!selects) {
    const fields: CaptureInputField[] = ['pod', 'selector', 'namespace', 'cgroup', 'host', 'port', 'tuple'];
    throw new CaptureInputProblem('', `nothing selected: give at least one of ${fields.slice(0, -1).map(n).join(', ')} or ${n('tuple')} (a capture of the whole host is refused)`);
  }
  const bounds = boundsOf(input);
  return {
    ...(receiver !== undefined ? { receiver } : {}),
    ...(name !== undefined ? { name } : {}),
    selection,
    ...(pods ? { pods } : {}),
    ...(bounds ? { bounds } : {}),
  };
}

function optionalString(input: CaptureInput, field: 'receiver' | 'name', pattern: RegExp, expected: string): string | undefined {
  const value = input[field];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !pattern.test(value)) throw new CaptureInputProblem(field, `${expected}, got ${show(value)}`);
  return value;
}

function cgroupsOf(value: unknown): string[] | undefined {
  if (value === undefined) return undefined;
  const list = Array.isArray(value) ? value : [value];
  if (list.length === 0) throw new CaptureInputProblem('cgroup', 'must name at least one cgroup v2 directory');
  return list.map((entry) => {
    // A path relative to the cgroup2 root or an absolute one; no `..`, which could leave the hierarchy.
    if (typeof entry !== 'string' || entry.trim() === '' || entry.split('/').includes('..')) {
      throw new CaptureInputProblem('cgroup', `must be a cgroup v2 directory, absolute (/sys/fs/cgroup/...) or relative to the cgroup2 root (system.slice/x.service), got ${show(entry)}`);
    }
    return entry;
  });
}

function podsOf(input: CaptureInput, n: FieldNamer): PodSelection | undefined {
  let namespace: string | undefined;
  if (input.namespace !== undefined) {
    if (typeof input.namespace !== 'string' || !NAMESPACE.test(input.namespace)) {
      throw new CaptureInputProblem('namespace', `must be a Kubernetes namespace name (lower-case letters, digits, -), got ${show(input.namespace)}`);
    }
    namespace = input.namespace;
  }
  if (input.pod !== undefined) {
    const [podNamespace, podName, ...rest] = typeof input.pod === 'string' ? input.pod.split('/') : [];
    if (rest.length > 0 || podNamespace === undefined || podName === undefined || !NAMESPACE.test(podNamespace) || !POD_NAME.test(podName)) {
      throw new CaptureInputProblem('pod', `must be namespace/name of a pod, e.g. shop/checkout-7d4b9c-x2x9z, got ${show(input.pod)}`);
    }
    if (input.selector !== undefined) throw new CaptureInputProblem('selector', `cannot be combined with ${n('pod')} (${n('pod')} names one pod; a selector picks pods by labels)`);
    if (namespace !== undefined && namespace !== podNamespace) {
      throw new CaptureInputProblem('namespace', `is ${show(namespace)} but ${n('pod')} names namespace ${show(podNamespace)}; give the namespace once, in ${n('pod')}`);
    }
    return { namespace: podNamespace, name: podName };
  }
  if (input.selector !== undefined) return { ...(namespace !== undefined ? { namespace } : {}), labels: labelsOf(input.selector) };
  return namespace !== undefined ? { namespace } : undefined;
}

function labelsOf(value: unknown): Record<string, string> {
  const expected = 'must be label=value pairs separated by commas, e.g. app=web,tier=front';
  const entries = typeof value === 'string' ? value.split(',') : typeof value === 'object' && value !== null && !Array.isArray(value) ? undefined : null;
  const labels: Record<string, string> = {};
  if (entries === null) throw new CaptureInputProblem('selector', `${expected}, got ${show(value)}`);
  // The config may write the selector as a YAML map of label to value.
  const pairs = entries === undefined ? Object.entries(value as Record<string, unknown>) : entries.map((entry) => {
    const at = entry.indexOf('=');
    if (at < 0 || entry.includes('!=') || entry.includes('==')) throw new CaptureInputProblem('selector', `${expected} (only equality is supported), got ${show(entry)}`);
    return [entry.slice(0, at).trim(), entry.slice(at + 1).trim()] as const;
  });
  if (pairs.length === 0) throw new CaptureInputProblem('selector', `${expected}, got an empty selector`);
  for (const [key, label] of pairs) {
    if (!LABEL_KEY.test(key)) throw new CaptureInputProblem('selector', `has ${show(key)}, which is not a Kubernetes label key (e.g. app, app.kubernetes.io/name)`);
    if (typeof label !== 'string' || !LABEL_VALUE.test(label)) {
      throw new CaptureInputProblem('selector', `label ${key} has ${show(label)}, which is not a Kubernetes label value (at most 63 of A-Z a-z 0-9 - _ .)`);
    }
    if (labels[key] !== undefined && labels[key] !== label) throw new CaptureInputProblem('selector', `label ${key} is given twice, as ${show(labels[key])} and ${show(label)}`);
    labels[key] = label;
  }
  return labels;
}

function addressOf(field: 'host' | 'tuple', value: unknown): string {
  if (typeof value !== 'string' || isIP(value) === 0) throw new CaptureInputProblem(field, `must be an IPv4 or IPv6 address (no host names), got ${show(value)}`);
  return value;
}

function portOf(field: 'port' | 'tuple', value: unknown): number {
  const port = typeof value === 'number' ? value : typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new CaptureInputProblem(field, `must be a TCP port 1-65535, got ${show(value)}`);
  return port;
}

/** `SRC:PORT,DST:PORT`, IPv6 addresses in brackets: `[fd00::1]:40000,[fd00::2]:80`. */
function tupleOf(value: unknown): CaptureSelection {
  const expected = 'must be SOURCE:PORT,DESTINATION:PORT, e.g. 198.18.0.1:40000,198.18.0.2:80 or [fd00::1]:40000,[fd00::2]:80';
  const ends = typeof value === 'string' ? value.split(',') : [];
  if (ends.length !== 2) throw new CaptureInputProblem('tuple', `${expected}, got ${show(value)}`);
  const [source, destination] = ends.map((end) => {
    const match = /^\[([^\]]+)\]:(\d+)$/.exec(end.trim()) ?? /^([^:]+):(\d+)$/.exec(end.trim());
    if (!match) throw new CaptureInputProblem('tuple', `${expected}, got ${show(value)}`);
    return { address: addressOf('tuple', match[1]), port: portOf('tuple', match[2]) };
  });
  if (isIP(source.address) !== isIP(destination.address)) throw new CaptureInputProblem('tuple', `mixes IPv4 and IPv6 (${show(value)}); both ends of a connection have the same family`);
  return { sourceAddress: source.address, sourcePort: source.port, destinationAddress: destination.address, destinationPort: destination.port };
}

function booleanOf(field: 'bidirectional', value: unknown): boolean {
  if (typeof value === 'boolean') return value;
  if (value === 'true' || value === 'false') return value === 'true';
  throw new CaptureInputProblem(field, `must be true or false, got ${show(value)}`);
}

function boundsOf(input: CaptureInput): CaptureBounds | undefined {
  const bounds: { -readonly [K in keyof CaptureBounds]: CaptureBounds[K] } = {};
  if (input.packets !== undefined) bounds.packets = countOf('packets', input.packets, 1, 'a number of packets, at least 1');
  if (input.bytes !== undefined) bounds.bytes = sizeOf('bytes', input.bytes);
  if (input.snaplen !== undefined) bounds.snaplen = countOf('snaplen', input.snaplen, 0, `bytes kept of each packet from its IP header, 0 (headers only) to ${MAX_SNAPLEN}`, MAX_SNAPLEN);
  if (input.duration !== undefined) bounds.durationMs = durationOf(input.duration);
  if (input.sample !== undefined) bounds.sampleOneIn = countOf('sample', input.sample, 1, 'N of "one packet in N", at least 1 (1: every packet)');
  if (input.rate !== undefined) bounds.packetsPerSecond = countOf('rate', input.rate, 0, 'packets per second, at least 0 (0: no limit)');
  return Object.keys(bounds).length > 0 ? bounds : undefined;
}

function countOf(field: CaptureInputField, value: unknown, least: number, expected: string, most = Number.MAX_SAFE_INTEGER): number {
  const n = typeof value === 'number' ? value : typeof value === 'string' && /^\d+$/.test(value.trim()) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n < least || n > most) throw new CaptureInputProblem(field, `must be ${expected}, got ${show(value)}`);
  return n;
}

function sizeOf(field: 'bytes', value: unknown): number {
  const expected = 'must be a number of bytes, at least 1, optionally with a unit: 1000, 64KiB, 10MiB, 1GiB';
  if (typeof value === 'number') return countOf(field, value, 1, 'a number of bytes, at least 1');
  const match = typeof value === 'string' ? SIZE.exec(value.trim()) : null;
  const n = match ? Number(match[1]) * SIZE_UNITS[match[2] ?? 'B'] : NaN;
  if (!Number.isSafeInteger(n) || n < 1) throw new CaptureInputProblem(field, `${expected}, got ${show(value)}`);
  return n;
}

/** The longest capture: a timer's delay is a signed 32-bit number of milliseconds in Node.js. */
export const MAX_DURATION_MS = 2 ** 31 - 1;

function durationOf(value: unknown): number {
  let ms: number;
  try {
    ms = parseDuration(value);
  } catch {
    throw new CaptureInputProblem('duration', `must be a duration such as "30s", "5m" or "1h30m" (a bare number is milliseconds), got ${show(value)}`);
  }
  if (ms < 1 || ms > MAX_DURATION_MS) throw new CaptureInputProblem('duration', `must be between 1ms and ${Math.floor(MAX_DURATION_MS / 3_600_000)}h, got ${show(value)}`);
  return Math.round(ms);
}

function show(value: unknown): string {
  return value === undefined ? 'nothing' : JSON.stringify(value);
}
