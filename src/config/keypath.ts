// Key paths name the place of an error in the config: `receivers.tcp_lifecycle/x.ring_buffer_size`,
// `service.pipelines.logs.exporters[1]`. Component ids contain `/`, never `.`, so dots stay
// unambiguous separators.

export type KeySegment = string | number;

export function formatKeyPath(segments: readonly KeySegment[]): string {
  let out = '';
  for (const segment of segments) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else out += out === '' ? segment : `.${segment}`;
  }
  return out;
}

export function isPlainMap(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A short rendering of a config value for error messages. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  // JSON has no NaN or Infinity and would show them (`.nan`, `1e400` in YAML) as null.
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  const json = JSON.stringify(value);
  if (json === undefined) return String(value);
  return json.length > 80 ? `${json.slice(0, 77)}...` : json;
}
