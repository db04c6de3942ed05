// Durations in exporter configs, written the way the OpenTelemetry Collector writes them ("5s",
// "500ms", "1m30s") or as a plain number of milliseconds. convict 6 has no duration format, and a
// named format would have to be registered globally with convict.addFormat; a format *function*
// keeps each schema self-contained, so the config holds `number | string` and the factory turns
// it into milliseconds with parseDuration(). Give such keys a *string* default: convict coerces a
// string value by the type of the default when the format is a function, so a number default
// would turn "1m" into parseFloat("1m") = 1 before the format ever sees it.

/** A duration as written in the config: milliseconds, or a Go-style duration string. */
export type DurationSetting = number | string;

// Go's time.ParseDuration units, in milliseconds.
const UNIT_MS: Readonly<Record<string, number>> = {
  ns: 1e-6,
  us: 1e-3,
  'µs': 1e-3,
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
};

/**
 * Milliseconds for a duration setting; throws an Error saying what is accepted when `value` is
 * neither a non-negative number of milliseconds nor a string like "1s", "250ms" or "1m30s".
 */
export function parseDuration(value: unknown): number {
  if (typeof value === 'number') {
    if (Number.isFinite(value) && value >= 0) return value;
  } else if (typeof value === 'string') {
    const text = value.trim();
    // A bare number in a string (e.g. from ${env:VAR}) means milliseconds, like a number.
    if (/^\d+(\.\d+)?$/.test(text)) return Number(text);
    // One or more <number><unit> terms with nothing between them, as Go's time.ParseDuration.
    const term = /(\d+(?:\.\d+)?|\.\d+)(ns|us|µs|ms|s|m|h)/y;
    let total = 0;
    while (text.length > 0 && term.lastIndex < text.length) {
      const match = term.exec(text);
      if (!match) return invalid(value);
      total += Number(match[1]) * UNIT_MS[match[2]];
    }
    if (text.length > 0) return total;
  }
  return invalid(value);
}

// The message says only what is expected: convict and the config loader add the key path and the
// value given.
function invalid(_value: unknown): never {
  throw new Error(
    'must be a duration: milliseconds as a number, or a string like "500ms", "5s" or "1m30s"',
  );
}

/**
 * The longest duration a setting may have: Node.js keeps a timer's delay in a signed 32-bit
 * number of milliseconds and runs a longer one after 1 ms instead (with only a warning), so
 * `collection_interval: 1000h` would export every millisecond. Every duration setting is bounded
 * by it, timer or not, so that one rule holds for all of them.
 */
export const MAX_DURATION_MS = 2 ** 31 - 1;

/**
 * A convict `format` function for a duration from `minMs` to `maxMs` milliseconds. The messages
 * say what is expected; the config loader adds the key path and the value given.
 */
export function durationFormat(minMs = 0, maxMs = MAX_DURATION_MS): (value: unknown) => void {
  return (value) => {
    const ms = parseDuration(value);
    if (ms < minMs) throw new Error(`must be a duration of at least ${minMs}ms`);
    if (ms > maxMs) {
      throw new Error(
        maxMs === MAX_DURATION_MS
          ? `must be a duration of at most ${MAX_DURATION_MS}ms (about 596h): Node.js runs longer timers after 1 ms`
          : `must be a duration of at most ${maxMs}ms`,
      );
    }
  };
}
