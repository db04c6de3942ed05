// pcapng block encoders (draft-ietf-opsawg-pcapng): Section Header, Interface Description and
// Enhanced Packet blocks, little-endian, each a self-contained Buffer. Only what tcpscope writes:
// nanosecond timestamps (if_tsresol = 9), the direction in epb_flags, comments.

export const BLOCK_SECTION_HEADER = 0x0a0d0d0a;
export const BLOCK_INTERFACE_DESCRIPTION = 0x00000001;
export const BLOCK_ENHANCED_PACKET = 0x00000006;
const BYTE_ORDER_MAGIC = 0x1a2b3c4d;

/** LINKTYPE_RAW: each packet starts with its IPv4 or IPv6 header (what cgroup_skb sees). */
export const LINKTYPE_RAW = 101;

const OPT_END = 0;
const OPT_COMMENT = 1;
const SHB_HARDWARE = 2;
const SHB_OS = 3;
const SHB_USERAPPL = 4;
const IF_NAME = 2;
const IF_DESCRIPTION = 3;
const IF_TSRESOL = 9;
const EPB_FLAGS = 2;

/** epb_flags bits 0-1. */
export type PacketDirection = 'inbound' | 'outbound' | 'unknown';
const DIRECTION_BITS: Record<PacketDirection, number> = { unknown: 0, inbound: 1, outbound: 2 };

interface Option {
  readonly code: number;
  readonly value: Buffer;
}

const pad4 = (n: number): number => (n + 3) & ~3;

function text(code: number, value: string): Option {
  return { code, value: Buffer.from(value, 'utf8') };
}

function optionsLength(options: readonly Option[]): number {
  if (options.length === 0) return 0;
  return options.reduce((sum, o) => sum + 4 + pad4(o.value.length), 0) + 4;
}

function writeOptions(block: Buffer, offset: number, options: readonly Option[]): number {
  if (options.length === 0) return offset;
  for (const option of options) {
    block.writeUInt16LE(option.code, offset);
    block.writeUInt16LE(option.value.length, offset + 2);
    option.value.copy(block, offset + 4);
    offset += 4 + pad4(option.value.length);
  }
  block.writeUInt16LE(OPT_END, offset);
  block.writeUInt16LE(0, offset + 2);
  return offset + 4;
}

/** A block of `type` with `body` bytes of fixed fields (written by `fill`) and options. */
function block(type: number, bodyLength: number, fill: (b: Buffer, at: number) => void, options: readonly Option[]): Buffer {
  const total = 8 + pad4(bodyLength) + optionsLength(options) + 4;
  const b = Buffer.alloc(total);
  b.writeUInt32LE(type, 0);
  b.writeUInt32LE(total, 4);
  fill(b, 8);
  writeOptions(b, 8 + pad4(bodyLength), options);
  b.writeUInt32LE(total, total - 4);
  return b;
}

export interface SectionHeader {
  readonly application: string;
  readonly os?: string;
  readonly hardware?: string;
  readonly comments?: readonly string[];
}

export function sectionHeaderBlock(header: SectionHeader): Buffer {
  const options: Option[] = [];
  if (header.hardware) options.push(text(SHB_HARDWARE, header.hardware));
  if (header.os) options.push(text(SHB_OS, header.os));
  options.push(text(SHB_USERAPPL, header.application));
  for (const comment of header.comments ?? []) options.push(text(OPT_COMMENT, comment));
  return block(
    BLOCK_SECTION_HEADER,
    16,
    (b, at) => {
      b.writeUInt32LE(BYTE_ORDER_MAGIC, at);
      b.writeUInt16LE(1, at + 4); // major
      b.writeUInt16LE(0, at + 6); // minor
      b.writeBigInt64LE(-1n, at + 8); // section length: not given
    },
    options,
  );
}

export interface InterfaceDescription {
  readonly linkType: number;
  /** Largest captured length of a packet on this interface (0: no limit). */
  readonly snaplen: number;
  readonly name?: string;
  readonly description?: string;
  readonly comments?: readonly string[];
}

export function interfaceDescriptionBlock(idb: InterfaceDescription): Buffer {
  const options: Option[] = [];
  if (idb.name) options.push(text(IF_NAME, idb.name));
  if (idb.description) options.push(text(IF_DESCRIPTION, idb.description));
  // Timestamps in nanoseconds: 10^-9 (the high bit clear means a power of ten).
  options.push({ code: IF_TSRESOL, value: Buffer.from([9]) });
  for (const comment of idb.comments ?? []) options.push(text(OPT_COMMENT, comment));
  return block(
    BLOCK_INTERFACE_DESCRIPTION,
    8,
    (b, at) => {
      b.writeUInt16LE(idb.linkType, at);
      b.writeUInt16LE(0, at + 2);
      b.writeUInt32LE(idb.snaplen, at + 4);
    },
    options,
  );
}

export interface EnhancedPacket {
  readonly interfaceId: number;
  /** Nanoseconds since the Unix epoch (the interface's if_tsresol is 9). */
  readonly timestampNs: bigint;
  readonly data: Buffer;
  readonly originalLength: number;
  readonly direction: PacketDirection;
  readonly comment?: string;
}

export function enhancedPacketBlock(packet: EnhancedPacket): Buffer {
  const flags = Buffer.alloc(4);
  flags.writeUInt32LE(DIRECTION_BITS[packet.direction]);
  const options: Option[] = [{ code: EPB_FLAGS, value: flags }];
  if (packet.comment) options.push(text(OPT_COMMENT, packet.comment));
  const captured = packet.data.length;
  return block(
    BLOCK_ENHANCED_PACKET,
    20 + captured,
    (b, at) => {
      b.writeUInt32LE(packet.interfaceId, at);
      b.writeUInt32LE(Number(packet.timestampNs >> 32n), at + 4);
      b.writeUInt32LE(Number(packet.timestampNs & 0xffffffffn), at + 8);
      b.writeUInt32LE(captured, at + 12);
      b.writeUInt32LE(packet.originalLength, at + 16);
      packet.data.copy(b, at + 20);
    },
    options,
  );
}
