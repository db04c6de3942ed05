// `service.capture`: where the agent serves `tcpscope capture` (the control socket) and which
// captures it starts by itself on a schedule. Lives under service (not under one receiver) because
// one socket serves every packet_capture receiver of the agent. Checked here, key by key, with
// the same parser as the CLI's flags (capture_input.ts), so a schedule entry accepts what
// `tcpscope capture start` accepts and an error names the key, e.g.
// `service.capture.schedule[0].selection.port: must be a TCP port 1-65535, got 0`.
import { isAbsolute } from 'node:path';
import { ConfigError } from '../../../errors';
import { parseDuration } from '../../../exporters/duration';
import { describeValue, formatKeyPath, isPlainMap, type KeySegment } from '../../../config/keypath';
import { CaptureInputProblem, MAX_DURATION_MS, parseCaptureInput, type CaptureInput, type ControlStartRequest } from './capture_input';
import { DEFAULT_CONTROL_SOCKET } from './control_client';

/** The receiver type whose instances serve captures. */
export const PACKET_CAPTURE_TYPE = 'packet_capture';

/** A time of day, UTC. */
export interface TimeOfDay {
  readonly hour: number;
  readonly minute: number;
}

export interface ScheduledCapture {
  /** Names the entry in logs, and the captures it starts (their `name`). */
  readonly name: string;
  /** Milliseconds between two starts; with `at`, 24 h unless set. */
  readonly everyMs: number;
  /** The first start at this UTC time of day, then every everyMs; absent: everyMs after the agent started. */
  readonly at?: TimeOfDay;
  readonly request: ControlStartRequest;
}

export interface CaptureSettings {
  /** The control socket's path; '' serves none. */
  readonly control: { readonly socket: string };
  readonly schedule: readonly ScheduledCapture[];
}

const SECTION = ['service', 'capture'] as const;
const SELECTION_KEYS = ['pod', 'selector', 'namespace', 'cgroup', 'host', 'port', 'tuple', 'bidirectional'] as const;
const BOUNDS_KEYS = ['packets', 'bytes', 'snaplen', 'duration', 'sample', 'rate'] as const;
const ENTRY_KEYS = ['name', 'every', 'at', 'receiver', 'selection', 'bounds'] as const;
const DAY_MS = 24 * 3_600_000;
/** The shortest interval: a capture every few seconds would be a standing capture, which the CLI starts. */
export const MIN_EVERY_MS = 10_000;

export const DEFAULT_CAPTURE_SETTINGS: CaptureSettings = { control: { socket: DEFAULT_CONTROL_SOCKET }, schedule: [] };

/**
 * `service.capture`, checked. `receiverIds` are the packet_capture receivers the config defines:
 * a schedule needs one, and a schedule entry's `receiver` must be one of them.
 */
export function validateCaptureSettings(section: unknown, receiverIds: readonly string[]): CaptureSettings {
  if (section === undefined || section === null) return DEFAULT_CAPTURE_SETTINGS;
  const at = (...keys: KeySegment[]) => formatKeyPath([...SECTION, ...keys]);
  const map = mapOf(section, [], ['control', 'schedule'], 'a map with control and schedule');
  let socket = DEFAULT_CONTROL_SOCKET;
  if (map.control !== undefined && map.control !== null) {
    const control = mapOf(map.control, ['control'], ['socket'], 'a map with socket');
    if (control.socket !== undefined) {
      if (typeof control.socket !== 'string' || (control.socket !== '' && !isAbsolute(control.socket))) {
        throw new ConfigError(at('control', 'socket'), `must be an absolute path for the unix socket (or "" to serve none), got ${describeValue(control.socket)}`);
      }
      // sun_path holds 107 bytes and a NUL: a longer path fails at bind with an obscure error.
      if (Buffer.byteLength(control.socket) > 107) throw new ConfigError(at('control', 'socket'), `is ${Buffer.byteLength(control.socket)} bytes long; a unix socket path is at most 107 bytes`);
      socket = control.socket;
    }
  }
  const schedule: ScheduledCapture[] = [];
  if (map.schedule !== undefined && map.schedule !== null) {
    if (!Array.isArray(map.schedule)) throw new ConfigError(at('schedule'), `must be a list of scheduled captures, got ${describeValue(map.schedule)}`);
    const names = new Set<string>();
    map.schedule.forEach((raw: unknown, i) => {
      const entry = validateEntry(raw, i, receiverIds);
      if (names.has(entry.name)) throw new ConfigError(at('schedule', i, 'name'), `"${entry.name}" names another entry too; names must be unique`);
      names.add(entry.name);
      schedule.push(entry);
    });
  }
  return { control: { socket }, schedule };
}

function mapOf(value: unknown, keys: readonly KeySegment[], allowed: readonly string[], expected: string): Record<string, unknown> {
  const path = formatKeyPath([...SECTION, ...keys]);
  if (!isPlainMap(value)) throw new ConfigError(path, `must be ${expected}, got ${describeValue(value)}`);
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) throw new ConfigError(formatKeyPath([...SECTION, ...keys, key]), `unknown key; expected one of: ${allowed.join(', ')}`);
  }
  return value;
}

function validateEntry(raw: unknown, i: number, receiverIds: readonly string[]): ScheduledCapture {
  const at = (...keys: KeySegment[]) => formatKeyPath([...SECTION, 'schedule', i, ...keys]);
  const entry = mapOf(raw, ['schedule', i], ENTRY_KEYS, `a map with ${ENTRY_KEYS.join(', ')}`);
  if (receiverIds.length === 0) {
    throw new ConfigError(at(), `a scheduled capture needs a ${PACKET_CAPTURE_TYPE} receiver: define one under receivers and list it in a logs pipeline`);
  }
  if (typeof entry.name !== 'string' || !/^[A-Za-z0-9_.-]{1,64}$/.test(entry.name)) {
    throw new ConfigError(at('name'), `must be 1-64 characters of A-Z a-z 0-9 _ . - (it names the captures and their files), got ${describeValue(entry.name)}`);
  }
  if (entry.receiver !== undefined && (typeof entry.receiver !== 'string' || !receiverIds.includes(entry.receiver))) {
    throw new ConfigError(at('receiver'), `must be one of the ${PACKET_CAPTURE_TYPE} receivers defined (${receiverIds.join(', ')}), got ${describeValue(entry.receiver)}`);
  }
  if (entry.receiver === undefined && receiverIds.length > 1) {
    throw new ConfigError(at('receiver'), `missing; the config defines ${receiverIds.length} ${PACKET_CAPTURE_TYPE} receivers (${receiverIds.join(', ')}): name one`);
  }
  const timeOfDay = entry.at === undefined ? undefined : timeOfDayOf(entry.at, at('at'));
  if (entry.every === undefined && timeOfDay === undefined) {
    throw new ConfigError(at(), 'needs every (an interval such as "1h") or at (a UTC time of day such as "03:30"), or both');
  }
  let everyMs = DAY_MS;
  if (entry.every !== undefined) {
    try {
      everyMs = parseDuration(entry.every);
    } catch {
      throw new ConfigError(at('every'), `must be an interval such as "30m", "1h" or "24h", got ${describeValue(entry.every)}`);
    }
    if (everyMs < MIN_EVERY_MS || everyMs > MAX_DURATION_MS) {
      throw new ConfigError(at('every'), `must be between ${MIN_EVERY_MS / 1000}s and ${Math.floor(MAX_DURATION_MS / 3_600_000)}h, got ${describeValue(entry.every)}`);
    }
  }
  const selection = entry.selection === undefined ? {} : mapOf(entry.selection, ['schedule', i, 'selection'], SELECTION_KEYS, `a map with ${SELECTION_KEYS.join(', ')}`);
  const bounds = entry.bounds === undefined || entry.bounds === null ? {} : mapOf(entry.bounds, ['schedule', i, 'bounds'], BOUNDS_KEYS, `a map with ${BOUNDS_KEYS.join(', ')}`);
  const input: CaptureInput = { ...selection, ...bounds, name: entry.name, ...(entry.receiver !== undefined ? { receiver: entry.receiver } : {}) };
  const where = (field: string): KeySegment[] => ((BOUNDS_KEYS as readonly string[]).includes(field) ? ['bounds', field] : field === 'name' || field === 'receiver' ? [field] : ['selection', field]);
  let request: ControlStartRequest;
  try {
    request = parseCaptureInput(input, (field) => formatKeyPath(where(field)));
  } catch (error) {
    if (!(error instanceof CaptureInputProblem)) throw error;
    throw new ConfigError(error.field === '' ? at('selection') : at(...where(error.field)), error.problem);
  }
  // A capture that could outlast the interval would overlap the next start: bound it.
  const duration = request.bounds?.durationMs;
  if (duration !== undefined && duration >= everyMs) {
    throw new ConfigError(at('bounds', 'duration'), `is ${describeValue(bounds.duration)}, not shorter than the interval between starts (${everyMs / 1000}s); the next start would find it still running`);
  }
  if (duration === undefined) {
    throw new ConfigError(at('bounds', 'duration'), 'missing; a scheduled capture needs a duration shorter than its interval, so that no one has to stop it');
  }
  return { name: entry.name, everyMs, ...(timeOfDay ? { at: timeOfDay } : {}), request };
}

function timeOfDayOf(value: unknown, path: string): TimeOfDay {
  const match = typeof value === 'string' ? /^([01]\d|2[0-3]):([0-5]\d)$/.exec(value) : null;
  if (!match) throw new ConfigError(path, `must be a UTC time of day as "HH:MM" (00:00-23:59, quoted in YAML), got ${describeValue(value)}`);
  return { hour: Number(match[1]), minute: Number(match[2]) };
}
