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
