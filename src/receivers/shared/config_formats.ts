import { durationFormat } from '../../exporters/duration';

// convict `format` functions shared by receiver schemas. convict prefixes the thrown message
// with the key path, so each message says only what is expected and what was given.

export function integerBetween(min: number, max: number): (value: unknown) => void {
  return (value) => {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      throw new Error(`must be an integer from ${min} to ${max} (got ${JSON.stringify(value)})`);
    }
  };
}

export function powerOfTwoAtLeast(min: number): (value: unknown) => void {
  return (value) => {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || (value & (value - 1)) !== 0) {
      throw new Error(`must be a power of two of at least ${min} (got ${JSON.stringify(value)})`);
    }
  };
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
