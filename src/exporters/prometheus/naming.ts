// OpenTelemetry → Prometheus names, per the OpenTelemetry "Prometheus and OpenMetrics
// compatibility" specification (the rules the Collector's prometheus exporter applies):
//
// - a metric name keeps [a-zA-Z0-9_:], every other character becomes `_`, runs of `_` collapse
//   to one, and a leading digit gets a `_` in front;
// - the unit becomes a suffix in Prometheus words (`s` → `_seconds`, `By` → `_bytes`,
//   `By/s` → `_bytes_per_second`), annotations in braces (`{connection}`) are dropped, `1` is
//   `_ratio` on gauges and nothing elsewhere; a name that already ends in the suffix is kept;
// - a monotonic sum (an OpenTelemetry counter) is a Prometheus counter and ends in `_total`;
// - a label name keeps [a-zA-Z0-9_], every other character becomes `_`, and a leading digit gets
//   `key_` in front (`key` before a leading `_`); two attributes that become the same label have their values joined with `;`
//   in the order of their original keys.
//
// One function per rule, so docs/prometheus.md can list, from src/telemetry, what each metric is
// called in Prometheus (see names_doc.ts).

/** What an OpenTelemetry metric becomes in Prometheus, as far as its name is concerned. */
export type PrometheusType = 'counter' | 'gauge' | 'histogram';

/** Units in Prometheus words (UCUM case-sensitive codes, as the spec and the Collector map them). */
const UNIT_WORDS: Readonly<Record<string, string>> = {
  d: 'days',
  h: 'hours',
  min: 'minutes',
  s: 'seconds',
  ms: 'milliseconds',
  us: 'microseconds',
  ns: 'nanoseconds',
  By: 'bytes',
  KiBy: 'kibibytes',
  MiBy: 'mebibytes',
  GiBy: 'gibibytes',
  TiBy: 'tebibytes',
  KBy: 'kilobytes',
  MBy: 'megabytes',
  GBy: 'gigabytes',
  TBy: 'terabytes',
  m: 'meters',
  V: 'volts',
  A: 'amperes',
  J: 'joules',
  W: 'watts',
  g: 'grams',
  Cel: 'celsius',
  Hz: 'hertz',
  '%': 'percent',
};

/** The `per` part of a unit like `By/s`. */
const PER_UNIT_WORDS: Readonly<Record<string, string>> = {
  s: 'second',
  m: 'minute',
  h: 'hour',
  d: 'day',
  w: 'week',
  mo: 'month',
  y: 'year',
};

/** `s` → `seconds`, `By/s` → `bytes_per_second`, `{connection}` → ``, `1` → `` (see unitSuffix for gauges). */
export function unitWords(unit: string): string {
  // Annotations in braces carry no unit (UCUM): `{connection}`, `{packet}/s` → `/s`.
  const bare = unit.replace(/\{[^}]*\}/g, '').trim();
  if (bare === '' || bare === '1') return '';
  const slash = bare.indexOf('/');
  const main = slash < 0 ? bare : bare.slice(0, slash);
  const per = slash < 0 ? '' : bare.slice(slash + 1);
  const mainWords = main === '' || main === '1' ? '' : (UNIT_WORDS[main] ?? main);
  const perWords = per === '' ? '' : `per_${PER_UNIT_WORDS[per] ?? UNIT_WORDS[per] ?? per}`;
  return sanitizeMetricName([mainWords, perWords].filter((w) => w !== '').join('_')).replace(/^_+|_+$/g, '');
}

/** Characters outside [a-zA-Z0-9_:] → `_`, runs of `_` → one `_`, a leading digit → `_` before it. */
export function sanitizeMetricName(name: string): string {
  const replaced = name.replace(/[^a-zA-Z0-9_:]/g, '_').replace(/__+/g, '_');
  return /^[0-9]/.test(replaced) ? `_${replaced}` : replaced;
}

/**
 * The Prometheus family name of an OpenTelemetry metric: sanitized name, unit suffix, `_total`
 * for counters. Histograms' series add `_bucket`, `_sum` and `_count` to it.
 */
export function prometheusMetricName(name: string, unit: string, type: PrometheusType): string {
  let result = sanitizeMetricName(name);
  const tokens = result.split('_');
  let suffix = unitWords(unit);
  if (suffix === '' && type === 'gauge' && unit.trim() === '1') suffix = 'ratio';
  if (suffix !== '') {
    const suffixTokens = suffix.split('_');
    // Already there (e.g. `http.server.duration_seconds`): not again.
    const present = tokens.length >= suffixTokens.length && tokens.slice(tokens.length - suffixTokens.length).join('_') === suffix;
    const beforeTotal = type === 'counter' && tokens.at(-1) === 'total' && tokens.slice(-1 - suffixTokens.length, -1).join('_') === suffix;
    if (!present && !beforeTotal) {
      // The unit goes before an existing `_total` of a counter.
      result = type === 'counter' && tokens.at(-1) === 'total' ? `${tokens.slice(0, -1).join('_')}_${suffix}_total` : `${result}_${suffix}`;
    }
  }
  if (type === 'counter' && !result.endsWith('_total')) result = `${result}_total`;
  return result.replace(/__+/g, '_');
}

/**
 * A label name from an attribute key: [a-zA-Z0-9_] only, `key_` before a leading digit, `key`
 * before a leading `_` (names starting with `__` are Prometheus' own).
 */
export function prometheusLabelName(key: string): string {
  const replaced = key.replace(/[^a-zA-Z0-9_]/g, '_');
  if (replaced === '') return 'key_';
  if (/^[0-9]/.test(replaced)) return `key_${replaced}`;
  return replaced.startsWith('_') ? `key${replaced}` : replaced;
}
