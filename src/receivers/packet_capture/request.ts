// A CaptureRequest checked and completed: defaults filled in from the receiver's config, cgroup
// paths resolved to ids and directories, addresses parsed to the 16 bytes the kernel compares,
// and the cfg_capture global the kernel program reads. Every problem is a CaptureError naming
// the field.
import { statSync } from 'node:fs';
import { isIPv4, isIPv6 } from 'node:net';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { CaptureError, type CaptureBounds, type CaptureReason, type CaptureRequest, type CaptureSelection } from './capture_api';
import { CONSTANTS, SETTINGS } from './layout';

export const CAPTURE_REASONS: readonly CaptureReason[] = ['on_demand', 'schedule', 'failed_connect', 'reset', 'retransmit_burst'];
const NAME = /^[A-Za-z0-9_.-]{1,64}$/;

/** The receiver's defaults for what a request leaves out (config key `defaults`). */
export interface CaptureDefaults {
  readonly packets: number;
  readonly bytes: number;
  readonly snaplen: number;
  readonly durationMs: number;
  readonly sampleOneIn: number;
  readonly packetsPerSecond: number;
}

export interface AppliedCapture {
  readonly selection: CaptureSelection;
  readonly bounds: Required<CaptureBounds>;
  readonly reason: CaptureReason;
  readonly name?: string;
  /** cgroup v2 directories the programs attach to (the root when the selection names none). */
  readonly attachDirectories: readonly string[];
  /** The cfg_capture global. */
  readonly settings: Buffer;
}

function invalid(message: string): CaptureError {
  return new CaptureError('CAPTURE_INVALID_REQUEST', message);
}

function integer(field: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    throw invalid(`${field} must be an integer from ${min} to ${max}, got ${JSON.stringify(value)}`);
  }
  return value;
}

/** 16 bytes, IPv4 as ::ffff:a.b.c.d (what the kernel program builds from each packet). */
export function addressBytes(field: string, value: unknown): Buffer {
  if (typeof value !== 'string') throw invalid(`${field} must be an IPv4 or IPv6 address, got ${JSON.stringify(value)}`);
  const bytes = Buffer.alloc(16);
  if (isIPv4(value)) {
    bytes[10] = 0xff;
    bytes[11] = 0xff;
    value.split('.').forEach((part, i) => (bytes[12 + i] = Number(part)));
    return bytes;
  }
  if (!isIPv6(value)) throw invalid(`${field} must be an IPv4 or IPv6 address, got ${JSON.stringify(value)}`);
  // Expand "::" and an embedded dotted quad into eight groups.
  let text = value;
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const p = dotted[1].split('.').map(Number);
    text = text.slice(0, -dotted[1].length) + `${((p[0] << 8) | p[1]).toString(16)}:${((p[2] << 8) | p[3]).toString(16)}`;
  }
  const [head, tail] = text.split('::');
  const headGroups = head ? head.split(':') : [];
  const tailGroups = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const groups = tail === undefined ? headGroups : [...headGroups, ...new Array<string>(8 - headGroups.length - tailGroups.length).fill('0'), ...tailGroups];
  groups.forEach((g, i) => bytes.writeUInt16BE(parseInt(g, 16), i * 2));
  return bytes;
}

/**
 * Resolves a cgroup path to its directory and id: a directory under the v2 root's mount point
 * (`/sys/fs/cgroup/x`), or a path in the hierarchy as /proc/<pid>/cgroup writes it (`/x`, `x`).
 */
function cgroupDirectory(root: string, path: string): { directory: string; id: number } {
  const underMount = path === root || path.startsWith(root.endsWith(sep) ? root : root + sep);
  const directory = underMount ? resolve(path) : resolve(join(root, path));
  const inside = relative(root, directory);
  if (inside.startsWith('..') || isAbsolute(inside)) throw invalid(`selection.cgroupPaths: ${path} is not inside the cgroup v2 root ${root}`);
  try {
    const stat = statSync(directory);
    if (!stat.isDirectory()) throw new Error('not a directory');
    return { directory, id: stat.ino };
  } catch {
    throw invalid(`selection.cgroupPaths: ${path} is not a cgroup v2 directory (looked at ${directory})`);
  }
}

/** Drops directories below another of the list: a program on the parent already sees them. */
function outermost(directories: readonly string[]): string[] {
  const unique = [...new Set(directories)];
  return unique.filter((d) => !unique.some((other) => other !== d && (d + sep).startsWith(other === sep ? sep : other + sep)));
}

export function applyRequest(
  request: CaptureRequest,
  defaults: CaptureDefaults,
  cgroupRoot: string | undefined,
  /** cgroup id -> path relative to the root (CgroupResolver.resolve). */
  resolveCgroupId: (id: number) => string | undefined,
): AppliedCapture {
  if (typeof request !== 'object' || request === null) throw invalid('a capture request must be an object with a selection');
  const s = request.selection;
  if (typeof s !== 'object' || s === null) throw invalid('selection is required: cgroupIds, cgroupPaths, addresses or ports');
  const known = new Set(['cgroupIds', 'cgroupPaths', 'sourceAddress', 'sourcePort', 'destinationAddress', 'destinationPort', 'bidirectional']);
  for (const key of Object.keys(s)) if (!known.has(key)) throw invalid(`selection.${key} is not a selection field (known: ${[...known].join(', ')})`);
  const reason = request.reason ?? 'on_demand';
  if (!CAPTURE_REASONS.includes(reason)) throw invalid(`reason must be one of ${CAPTURE_REASONS.join(', ')}, got ${JSON.stringify(reason)}`);
  if (request.name !== undefined && (typeof request.name !== 'string' || !NAME.test(request.name))) {
    throw invalid(`name must match ${NAME.source}, got ${JSON.stringify(request.name)}`);
  }
  if (s.bidirectional !== undefined && typeof s.bidirectional !== 'boolean') throw invalid('selection.bidirectional must be true or false');
  const bidirectional = s.bidirectional ?? true;

  const directories: string[] = [];
  const ids: number[] = [];
  if (s.cgroupIds !== undefined || s.cgroupPaths !== undefined) {
    if (!cgroupRoot) throw invalid('selection by cgroup needs a cgroup v2 hierarchy, and this host has none mounted');
  }
  if (s.cgroupIds !== undefined) {
    if (!Array.isArray(s.cgroupIds)) throw invalid('selection.cgroupIds must be a list of cgroup v2 ids');
    s.cgroupIds.forEach((id, i) => {
      integer(`selection.cgroupIds[${i}]`, id, 1, Number.MAX_SAFE_INTEGER);
      const path = resolveCgroupId(id);
      if (path === undefined) throw invalid(`selection.cgroupIds[${i}]: no cgroup v2 directory has id ${id} (gone, or not a cgroup id)`);
      directories.push(join(cgroupRoot as string, path));
      ids.push(id);
    });
  }
  if (s.cgroupPaths !== undefined) {
    if (!Array.isArray(s.cgroupPaths)) throw invalid('selection.cgroupPaths must be a list of cgroup v2 directories');
    s.cgroupPaths.forEach((path, i) => {
      if (typeof path !== 'string' || path === '') throw invalid(`selection.cgroupPaths[${i}] must be a non-empty path`);
      const found = cgroupDirectory(cgroupRoot as string, path);
      directories.push(found.directory);
      ids.push(found.id);
    });
  }
  const settings = Buffer.alloc(SETTINGS.size);
  if (s.sourceAddress !== undefined) {
    addressBytes('selection.sourceAddress', s.sourceAddress).copy(settings, SETTINGS.source_address);
    settings.writeUInt8(1, SETTINGS.has_source_address);
  }
  if (s.destinationAddress !== undefined) {
    addressBytes('selection.destinationAddress', s.destinationAddress).copy(settings, SETTINGS.destination_address);
    settings.writeUInt8(1, SETTINGS.has_destination_address);
  }
  if (s.sourcePort !== undefined) settings.writeUInt16LE(integer('selection.sourcePort', s.sourcePort, 1, 65535), SETTINGS.source_port);
  if (s.destinationPort !== undefined) settings.writeUInt16LE(integer('selection.destinationPort', s.destinationPort, 1, 65535), SETTINGS.destination_port);
  const hasTuple = [s.sourceAddress, s.destinationAddress, s.sourcePort, s.destinationPort].some((v) => v !== undefined);
  if (ids.length === 0 && !hasTuple) throw invalid('selection names nothing: give cgroupIds, cgroupPaths, an address or a port (a capture of the whole host is refused)');
  settings.writeUInt8(bidirectional ? 1 : 0, SETTINGS.bidirectional);

  const b = request.bounds ?? {};
  if (typeof b !== 'object' || b === null) throw invalid('bounds must be an object');
  const bounds: Required<CaptureBounds> = {
    packets: integer('bounds.packets', b.packets ?? defaults.packets, 1, 100_000_000),
    bytes: integer('bounds.bytes', b.bytes ?? defaults.bytes, 1, 2 ** 40),
    snaplen: integer('bounds.snaplen', b.snaplen ?? defaults.snaplen, 0, CONSTANTS.PACKET_CAPTURE_MAX_SNAP),
    durationMs: integer('bounds.durationMs', b.durationMs ?? defaults.durationMs, 1, 24 * 3600 * 1000),
    sampleOneIn: integer('bounds.sampleOneIn', b.sampleOneIn ?? defaults.sampleOneIn, 1, 1_000_000),
    packetsPerSecond: integer('bounds.packetsPerSecond', b.packetsPerSecond ?? defaults.packetsPerSecond, 0, 10_000_000),
  };
  if (bounds.snaplen !== 0 && bounds.snaplen < CONSTANTS.MIN_SNAPLEN) {
    throw invalid(`bounds.snaplen must be 0 (headers only) or at least ${CONSTANTS.MIN_SNAPLEN} (an IPv6 header and a TCP header), got ${bounds.snaplen}`);
  }
  settings.writeBigUInt64LE(BigInt(bounds.packets), SETTINGS.max_packets);
  settings.writeBigUInt64LE(BigInt(bounds.bytes), SETTINGS.max_bytes);
  settings.writeBigUInt64LE(BigInt(bounds.sampleOneIn), SETTINGS.sample_one_in);
  settings.writeBigUInt64LE(BigInt(bounds.packetsPerSecond), SETTINGS.packets_per_second);
  settings.writeUInt32LE(bounds.snaplen, SETTINGS.snaplen);

  const selection: CaptureSelection = {
    ...(ids.length > 0 ? { cgroupIds: [...new Set(ids)] } : {}),
    ...(s.sourceAddress !== undefined ? { sourceAddress: s.sourceAddress } : {}),
    ...(s.sourcePort !== undefined ? { sourcePort: s.sourcePort } : {}),
    ...(s.destinationAddress !== undefined ? { destinationAddress: s.destinationAddress } : {}),
    ...(s.destinationPort !== undefined ? { destinationPort: s.destinationPort } : {}),
    bidirectional,
  };
  if (directories.length === 0) {
    if (!cgroupRoot) throw invalid('capturing needs a cgroup v2 hierarchy (the programs attach to cgroups), and this host has none mounted');
    directories.push(cgroupRoot);
  }
  return { selection, bounds, reason, ...(request.name !== undefined ? { name: request.name } : {}), attachDirectories: outermost(directories), settings };
}

/** One line naming a selection, for file comments and logs. */
export function describeSelection(selection: CaptureSelection): string {
  const end = (address?: string, port?: number): string => `${address ?? '*'}:${port ?? '*'}`;
  const parts = [`${end(selection.sourceAddress, selection.sourcePort)} ${selection.bidirectional === false ? '->' : '<->'} ${end(selection.destinationAddress, selection.destinationPort)}`];
  if (selection.cgroupIds?.length) parts.push(`cgroups ${selection.cgroupIds.join(',')}`);
  return parts.join(', ');
}
