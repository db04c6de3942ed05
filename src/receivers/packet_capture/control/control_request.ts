// The checks the agent makes of a POST /v1/captures body before anything is resolved or started.
// The CLI sends well-formed requests, but the socket is an API (curl, scripts): a wrong body gets
// a 400 that names the JSON field and what it must be, never a crash or a capture of the wrong thing.
import { isIP } from 'node:net';
import type { CaptureBounds, CaptureSelection } from '../capture_api';
import { CAPTURE_NAME, MAX_DURATION_MS, MAX_SNAPLEN, type ControlStartRequest, type PodSelection } from './capture_input';

/** A body field is wrong: `field` is its dotted path in the JSON (`selection.sourcePort`). */
export class ControlRequestProblem extends Error {
  constructor(
    readonly field: string,
    readonly problem: string,
  ) {
    super(field === '' ? problem : `${field}: ${problem}`);
  }
}

type Json = Record<string, unknown>;

const isMap = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

function keysOf(value: unknown, field: string, allowed: readonly string[]): Json {
  if (!isMap(value)) throw new ControlRequestProblem(field, `must be a JSON object, got ${show(value)}`);
  const unknown = Object.keys(value).find((key) => !allowed.includes(key));
  if (unknown !== undefined) throw new ControlRequestProblem(field === '' ? unknown : `${field}.${unknown}`, `unknown field; expected one of: ${allowed.join(', ')}`);
  return value;
}

const SELECTION_KEYS = ['cgroupIds', 'cgroupPaths', 'sourceAddress', 'sourcePort', 'destinationAddress', 'destinationPort', 'bidirectional'] as const;
const BOUNDS_KEYS = ['packets', 'bytes', 'snaplen', 'durationMs', 'sampleOneIn', 'packetsPerSecond'] as const;

export function validateStartRequest(body: unknown): ControlStartRequest {
  const top = keysOf(body, '', ['receiver', 'name', 'selection', 'pods', 'bounds']);
  const receiver = optional(top, 'receiver', 'receiver', (v) => typeof v === 'string' && v.length > 0, 'a receiver id string');
  const name = optional(top, 'name', 'name', (v) => typeof v === 'string' && CAPTURE_NAME.test(v), '1-64 characters of A-Z a-z 0-9 _ . -');
  if (top.selection === undefined) throw new ControlRequestProblem('selection', 'missing; a capture needs a selection (an empty object when pods select)');
  const selection = selectionOf(top.selection);
  const pods = top.pods === undefined ? undefined : podsOf(top.pods);
  if (pods && (selection.cgroupIds || selection.cgroupPaths)) throw new ControlRequestProblem('pods', 'cannot be combined with selection.cgroupIds or selection.cgroupPaths');
  const selects = SELECTION_KEYS.some((key) => key !== 'bidirectional' && selection[key] !== undefined) || pods !== undefined;
  if (!selects) throw new ControlRequestProblem('selection', 'selects nothing: set pods or one of selection.cgroupIds, cgroupPaths, sourceAddress, sourcePort, destinationAddress, destinationPort');
  const bounds = top.bounds === undefined ? undefined : boundsOf(top.bounds);
  return {
    ...(receiver !== undefined ? { receiver: receiver as string } : {}),
    ...(name !== undefined ? { name: name as string } : {}),
    selection,
    ...(pods ? { pods } : {}),
    ...(bounds ? { bounds } : {}),
  };
}

function optional(from: Json, key: string, field: string, ok: (value: unknown) => boolean, expected: string): unknown {
  const value = from[key];
  if (value === undefined) return undefined;
  if (!ok(value)) throw new ControlRequestProblem(field, `must be ${expected}, got ${show(value)}`);
  return value;
}

const isPort = (v: unknown) => Number.isInteger(v) && (v as number) >= 1 && (v as number) <= 65535;
const isAddress = (v: unknown) => typeof v === 'string' && isIP(v) !== 0;

function selectionOf(value: unknown): CaptureSelection {
  const s = keysOf(value, 'selection', SELECTION_KEYS);
  const list = (key: 'cgroupIds' | 'cgroupPaths', ok: (v: unknown) => boolean, expected: string) =>
    optional(s, key, `selection.${key}`, (v) => Array.isArray(v) && v.length > 0 && v.every(ok), `a non-empty list of ${expected}`);
  const cgroupIds = list('cgroupIds', (v) => Number.isSafeInteger(v) && (v as number) > 0, 'cgroup ids (positive integers)');
  const cgroupPaths = list('cgroupPaths', (v) => typeof v === 'string' && v.trim() !== '' && !v.split('/').includes('..'), 'cgroup v2 directories');
  const sourceAddress = optional(s, 'sourceAddress', 'selection.sourceAddress', isAddress, 'an IPv4 or IPv6 address');
  const sourcePort = optional(s, 'sourcePort', 'selection.sourcePort', isPort, 'a TCP port 1-65535');
  const destinationAddress = optional(s, 'destinationAddress', 'selection.destinationAddress', isAddress, 'an IPv4 or IPv6 address');
  const destinationPort = optional(s, 'destinationPort', 'selection.destinationPort', isPort, 'a TCP port 1-65535');
  const bidirectional = optional(s, 'bidirectional', 'selection.bidirectional', (v) => typeof v === 'boolean', 'true or false');
  if (sourceAddress !== undefined && destinationAddress !== undefined && isIP(sourceAddress as string) !== isIP(destinationAddress as string)) {
    throw new ControlRequestProblem('selection.destinationAddress', `is ${show(destinationAddress)}, of another family than selection.sourceAddress ${show(sourceAddress)}`);
  }
  const out: Json = { cgroupIds, cgroupPaths, sourceAddress, sourcePort, destinationAddress, destinationPort, bidirectional };
  return Object.fromEntries(Object.entries(out).filter(([, v]) => v !== undefined)) as CaptureSelection;
}

function podsOf(value: unknown): PodSelection {
  const p = keysOf(value, 'pods', ['namespace', 'name', 'labels']);
  const namespace = optional(p, 'namespace', 'pods.namespace', (v) => typeof v === 'string' && v !== '', 'a namespace name');
  const name = optional(p, 'name', 'pods.name', (v) => typeof v === 'string' && v !== '', 'a pod name');
  const labels = optional(p, 'labels', 'pods.labels', (v) => isMap(v) && Object.keys(v).length > 0 && Object.values(v).every((x) => typeof x === 'string'), 'a non-empty object of label to string value');
  if (name !== undefined && namespace === undefined) throw new ControlRequestProblem('pods.namespace', 'missing; a pod is named by namespace and name');
  if (name !== undefined && labels !== undefined) throw new ControlRequestProblem('pods.labels', 'cannot be combined with pods.name');
  if (namespace === undefined && labels === undefined) throw new ControlRequestProblem('pods', 'selects no pods: set namespace (with name or labels) or labels');
  return {
    ...(namespace !== undefined ? { namespace: namespace as string } : {}),
    ...(name !== undefined ? { name: name as string } : {}),
    ...(labels !== undefined ? { labels: labels as Record<string, string> } : {}),
  };
}

function boundsOf(value: unknown): CaptureBounds {
  const b = keysOf(value, 'bounds', BOUNDS_KEYS);
  const count = (key: (typeof BOUNDS_KEYS)[number], least: number, most: number) =>
    optional(b, key, `bounds.${key}`, (v) => Number.isSafeInteger(v) && (v as number) >= least && (v as number) <= most, `an integer ${least}-${most}`);
  const out: Json = {
    packets: count('packets', 1, Number.MAX_SAFE_INTEGER),
    bytes: count('bytes', 1, Number.MAX_SAFE_INTEGER),
    snaplen: count('snaplen', 0, MAX_SNAPLEN),
    durationMs: count('durationMs', 1, MAX_DURATION_MS),
    sampleOneIn: count('sampleOneIn', 1, Number.MAX_SAFE_INTEGER),
    packetsPerSecond: count('packetsPerSecond', 0, Number.MAX_SAFE_INTEGER),
  };
  return Object.fromEntries(Object.entries(out).filter(([, v]) => v !== undefined)) as CaptureBounds;
}

function show(value: unknown): string {
  return JSON.stringify(value) ?? String(value);
}
