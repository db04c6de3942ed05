// Config of the packet_capture receiver: where files go and how they are bounded, how many
// captures may run at once, and the bounds a request that names none gets.
import type { Schema } from 'convict';
import type { SettingProblem } from '../../component';
import { durationFormat, parseDuration, type DurationSetting } from '../../exporters/duration';
import { KERNEL_RECEIVER_SETTINGS, integerBetween, ringBufferSizeFormat } from '../common/config_formats';
import type { CaptureDefaults } from './request';
import { CONSTANTS } from './layout';

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
}

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
    doc: `Bytes of each capture's kernel ring buffer. Each packet takes ${CONSTANTS.PACKET_CAPTURE_RECORD_HEADER + CONSTANTS.PACKET_CAPTURE_MAX_SNAP} bytes in it whatever its snaplen; a full ring skips packets (outcome skipped_lost).`,
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
};

export function validatePacketCaptureConfig(config: PacketCaptureConfig): SettingProblem | undefined {
  if (config.directory.trim() === '') return { key: 'directory', message: 'must name a directory, got ""' };
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
