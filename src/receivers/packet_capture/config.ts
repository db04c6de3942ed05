// Config of the packet_capture receiver: where files go and how they are bounded, how many
// captures may run at once, and the bounds a request that names none gets.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Schema } from 'convict';
import { findCgroupV2Root } from '../../host/cgroup_resolver';
import type { SettingProblem } from '../../component';
import { durationFormat, parseDuration, type DurationSetting } from '../../exporters/duration';
import { KERNEL_RECEIVER_SETTINGS, integerBetween, ringBufferSizeFormat } from '../common/config_formats';
import type { CaptureDefaults } from './request';
import { CONSTANTS } from './layout';

export interface TriggersConfig {
  enabled: boolean;
  cgroups: string[];
  on: string[];
  before_packets: number;
  after_packets: number;
  after_snaplen: number;
  after_timeout: DurationSetting;
  cooldown: DurationSetting;
  retransmit_burst: number;
  retransmit_window: DurationSetting;
  max_connections: number;
  max_captures: number;
  ring_buffer_size: number;
}

export interface PacketCaptureConfig {
  collection_interval: DurationSetting;
  directory: string;
  max_file_size: number;
  max_files: number;
  max_captures: number;
  history: number;
  ring_buffer_size: number;
  packets: number;
  bytes: number;
  snaplen: number;
  duration: DurationSetting;
  sample_one_in: number;
  packets_per_second: number;
  triggers: TriggersConfig;
}

const TRIGGER_REASONS = ['failed_connect', 'reset', 'retransmit_burst'];

export const packetCaptureSchema: Schema<PacketCaptureConfig> = {
  collection_interval: { ...KERNEL_RECEIVER_SETTINGS.collection_interval },
  directory: {
    doc: 'Directory the pcapng files are written to (created 0750 if missing). Only files named tcpscope-*.pcapng in it are ever deleted (see max_files).',
    format: String,
    default: '/var/lib/tcpscope/captures',
  },
  max_file_size: {
    doc: 'Bytes of one pcapng file; a capture that writes more continues in a new file (each file readable on its own).',
    format: integerBetween(64 * 1024, 2 ** 31),
    default: 16 * 1024 * 1024,
  },
  max_files: {
    doc: 'tcpscope pcapng files kept in the directory, over all captures; beyond it the oldest are deleted when a new file is opened.',
    format: integerBetween(1, 100_000),
    default: 64,
  },
  max_captures: {
    doc: 'Captures running at once (each is a kernel program attached while it runs); a request beyond it is refused with CAPTURE_BUSY.',
    format: integerBetween(1, 64),
    default: 4,
  },
  history: {
    doc: 'Finished captures whose status list() still returns.',
    format: integerBetween(0, 10_000),
    default: 32,
  },
  ring_buffer_size: {
    doc: `Bytes of each capture's kernel ring buffer. Each packet takes ${CONSTANTS.PACKET_CAPTURE_RECORD_HEADER + CONSTANTS.PACKET_CAPTURE_HEADERS_SNAP} bytes in it headers only (snaplen 0), ${CONSTANTS.PACKET_CAPTURE_RECORD_HEADER + CONSTANTS.PACKET_CAPTURE_MAX_SNAP} with any other snaplen; a full ring skips packets (outcome skipped_lost).`,
    format: ringBufferSizeFormat(),
    default: 4 * 1024 * 1024,
  },
  packets: {
    doc: 'Default packet bound of a capture (packets written, at most).',
    format: integerBetween(1, 100_000_000),
    default: 10_000,
  },
  bytes: {
    doc: 'Default byte bound of a capture (bytes of packet data written, after snaplen).',
    format: integerBetween(1, 2 ** 40),
    default: 64 * 1024 * 1024,
  },
  snaplen: {
    doc: `Default bytes kept of each packet from its IP header. 0: headers only (IP and TCP headers, no payload). Payload capture is opt-in: set a snaplen (at least ${CONSTANTS.MIN_SNAPLEN}, at most ${CONSTANTS.PACKET_CAPTURE_MAX_SNAP}) here or in the request.`,
    format: (value: unknown) => {
      integerBetween(0, CONSTANTS.PACKET_CAPTURE_MAX_SNAP)(value);
      if (value !== 0 && (value as number) < CONSTANTS.MIN_SNAPLEN) throw new Error(`must be 0 (headers only) or at least ${CONSTANTS.MIN_SNAPLEN}`);
    },
    default: 0,
  },
  duration: {
    doc: 'Default longest time a capture runs.',
    format: durationFormat(1, 24 * 3600 * 1000),
    default: '60s',
  },
  sample_one_in: {
    doc: 'Default sampling: write one selected packet in N (1: all); the others are counted as skipped_sampling.',
    format: integerBetween(1, 1_000_000),
    default: 1,
  },
  packets_per_second: {
    doc: 'Default rate limit of a capture, packets written per second (0: none); the excess is counted as skipped_rate_limit.',
    format: integerBetween(0, 10_000_000),
    default: 10_000,
  },
  triggers: {
    enabled: {
      doc: 'Capture automatically on a failed connect, a reset or a retransmission burst (the trigger watch: a kernel program on every packet of the watched cgroups while enabled, see "Automatic captures").',
      format: Boolean,
      default: false,
    },
    cgroups: {
      doc: 'cgroup v2 paths whose sockets are watched (as /proc/<pid>/cgroup writes them, e.g. /kubepods.slice); empty: the whole host (the root cgroup).',
      format: (value: unknown) => {
        if (!Array.isArray(value) || value.some((v) => typeof v !== 'string' || v === '')) throw new Error('must be a list of cgroup paths');
      },
      default: [],
    },
    on: {
      doc: `What triggers a capture: any of ${TRIGGER_REASONS.join(', ')}.`,
      format: (value: unknown) => {
        if (!Array.isArray(value) || value.some((v) => !TRIGGER_REASONS.includes(v as string))) throw new Error(`must be a list of ${TRIGGER_REASONS.join(', ')}`);
      },
      default: [...TRIGGER_REASONS],
    },
    before_packets: {
      doc: `Packets of the connection before the trigger kept in its kernel ring and written first (headers only, at most ${CONSTANTS.PACKET_CAPTURE_WATCH_SNAP} bytes each).`,
      format: integerBetween(0, CONSTANTS.PACKET_CAPTURE_MAX_BEFORE),
      default: 4,
    },
    after_packets: {
      doc: 'Packets of the connection (both directions) captured after the trigger.',
      format: integerBetween(0, 100_000),
      default: 32,
    },
    after_snaplen: {
      doc: `Bytes kept of each packet from the trigger on (0: headers only; payload is opt-in, at least ${CONSTANTS.MIN_SNAPLEN}).`,
      format: (value: unknown) => {
        integerBetween(0, CONSTANTS.PACKET_CAPTURE_MAX_SNAP)(value);
        if (value !== 0 && (value as number) < CONSTANTS.MIN_SNAPLEN) throw new Error(`must be 0 (headers only) or at least ${CONSTANTS.MIN_SNAPLEN}`);
      },
      default: 0,
    },
    after_timeout: {
      doc: 'A triggered capture ends this long after its trigger even when fewer than after_packets came (a refused connect has none).',
      format: durationFormat(1, 3600 * 1000),
      default: '5s',
    },
    cooldown: {
      doc: 'Shortest time between two triggered captures of one connection (same cgroup and 5-tuple); triggers in between are counted, not captured.',
      format: durationFormat(0),
      default: '60s',
    },
    retransmit_burst: {
      doc: 'Retransmitted segments of a connection within retransmit_window that make a retransmit_burst trigger.',
      format: integerBetween(1, 1_000_000),
      default: 3,
    },
    retransmit_window: {
      doc: 'The window retransmit_burst is counted in.',
      format: durationFormat(1),
      default: '1s',
    },
    max_connections: {
      doc: `Connections the watch keeps a ring for (${56 + 8 * 144 + 48} bytes each, least recently seen evicted first).`,
      format: integerBetween(16, 1024 * 1024),
      default: 4096,
    },
    max_captures: {
      doc: 'Triggered captures running at once; a trigger beyond it is counted (outcome busy), not captured.',
      format: integerBetween(1, 1024),
      default: 16,
    },
    ring_buffer_size: {
      doc: `Bytes of the watch's kernel ring buffer (a packet record takes ${CONSTANTS.PACKET_CAPTURE_RECORD_HEADER + CONSTANTS.PACKET_CAPTURE_HEADERS_SNAP} bytes in it headers only, ${CONSTANTS.PACKET_CAPTURE_RECORD_HEADER + CONSTANTS.PACKET_CAPTURE_MAX_SNAP} with an after_snaplen).`,
      format: ringBufferSizeFormat(),
      default: 1024 * 1024,
    },
  },
};

/** `cgroupRoot` finds the host's cgroup2 root (a function: only asked when triggers are on). */
export function validatePacketCaptureConfig(config: PacketCaptureConfig, cgroupRoot: () => string | undefined = () => findCgroupV2Root()): SettingProblem | undefined {
  if (config.directory.trim() === '') return { key: 'directory', message: 'must name a directory, got ""' };
  if (!config.triggers.enabled) return undefined;
  const root = cgroupRoot();
  if (config.triggers.on.length === 0) return { key: 'triggers.on', message: 'must name at least one trigger when triggers.enabled is true' };
  if (!root) return { key: 'triggers.enabled', message: 'the trigger watch attaches to cgroup v2, and this host has none mounted' };
  for (const [i, path] of config.triggers.cgroups.entries()) {
    if (!existsSync(join(root, path))) return { key: `triggers.cgroups[${i}]`, message: `no cgroup v2 directory ${join(root, path)}` };
  }
  return undefined;
}

export function captureDefaults(config: PacketCaptureConfig): CaptureDefaults {
  return {
    packets: config.packets,
    bytes: config.bytes,
    snaplen: config.snaplen,
    durationMs: parseDuration(config.duration),
    sampleOneIn: config.sample_one_in,
    packetsPerSecond: config.packets_per_second,
  };
}
