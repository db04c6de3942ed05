import { readFileSync } from 'node:fs';
import { durationFormat } from '../../exporters/duration';

// convict `format` functions shared by receiver schemas. Each message says only what is
// expected: the config loader adds the key path and the value given.

export function integerBetween(min: number, max: number): (value: unknown) => void {
  return (value) => {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      throw new Error(`must be an integer from ${min} to ${max}`);
    }
  };
}

/** The largest ring buffer: BPF map sizes are 32-bit, and 2^32 would wrap to 0. */
export const MAX_RING_BUFFER_BYTES = 2 ** 31;

/**
 * The kernel's rule for a BPF ring buffer's size (kernel/bpf/ringbuf.c: a power of two and a
 * multiple of the page size, else EINVAL at load); checked here so that `tcpscope validate`
 * refuses what loading would, with the rule instead of "Invalid argument".
 */
export function ringBufferSizeFormat(pageBytes: number = pageSize()): (value: unknown) => void {
  return (value) => {
    if (
      typeof value !== 'number' ||
      !Number.isInteger(value) ||
      value < pageBytes ||
      value > MAX_RING_BUFFER_BYTES ||
      (value & (value - 1)) !== 0
    ) {
      throw new Error(
        `must be a power of two from ${pageBytes} (the page size) to ${MAX_RING_BUFFER_BYTES} bytes: the kernel takes only a power-of-two multiple of the page size, e.g. 1048576 for 1 MiB`,
      );
    }
  };
}

const AT_PAGESZ = 6;
let cachedPageSize: number | undefined;

/**
 * This machine's page size (4096 on x86-64, often 16384 or 65536 on arm64), from the aux vector
 * the kernel gave this process; 4096 where /proc is unreadable. Node.js has no API for it.
 */
export function pageSize(): number {
  if (cachedPageSize !== undefined) return cachedPageSize;
  cachedPageSize = 4096;
  try {
    // 64-bit entries: (type, value) pairs of u64, ending with AT_NULL.
    const auxv = readFileSync('/proc/self/auxv');
    for (let offset = 0; offset + 16 <= auxv.length; offset += 16) {
      const type = auxv.readBigUInt64LE(offset);
      if (type === 0n) break;
      if (type === BigInt(AT_PAGESZ)) {
        cachedPageSize = Number(auxv.readBigUInt64LE(offset + 8));
        break;
      }
    }
  } catch {
    // Keep 4096: the common page size; the kernel still refuses a wrong size at load.
  }
  return cachedPageSize;
}

/** Settings every kernel receiver has, with one meaning and one default everywhere. */
export const KERNEL_RECEIVER_SETTINGS = {
  collection_interval: {
    doc: 'How often the kernel aggregates are read and exported as metrics ("10s", "500ms" or milliseconds).',
    format: durationFormat(100),
    default: '10s',
  },
  drain_interval: {
    doc: 'Longest time an event waits in the ring buffer before it is read when traffic is quiet.',
    format: durationFormat(1),
    default: '100ms',
  },
  wakeup_min_bytes: {
    doc: 'Pending ring buffer bytes that wake the agent up early (batches wake-ups: one per event would cost more than the event).',
    format: integerBetween(1, 1 << 30),
    default: 65536,
  },
  sampling_pushdown: {
    doc:
      'When every logs pipeline of the receiver starts with the same sampling processor, evaluate its predicate in the kernel, so that events it would drop never cross the ring buffer (exported results are the same either way).',
    format: Boolean,
    default: true,
  },
} as const;
