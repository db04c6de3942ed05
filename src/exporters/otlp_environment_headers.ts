// The OTLP exporters' standard header variables (the OpenTelemetry SDK's rule, which the SDK's own
// exporters follow): OTEL_EXPORTER_OTLP_HEADERS for every signal and
// OTEL_EXPORTER_OTLP_{METRICS,LOGS}_HEADERS for one, `name=value` pairs separated by commas. They
// fill in names the config does not set; a configured header wins whatever its case.
import { parseKeyPairsIntoRecord } from '@opentelemetry/core';
import type { Signal } from '../component';

/** `configured` plus the variables' headers for names it does not set. */
export function withEnvironmentHeaders(
  configured: Readonly<Record<string, string>>,
  signal: Signal,
  env: NodeJS.ProcessEnv = process.env,
): Record<string, string> {
  const fromEnvironment = {
    ...parseKeyPairsIntoRecord(env.OTEL_EXPORTER_OTLP_HEADERS?.trim()),
    ...parseKeyPairsIntoRecord(env[`OTEL_EXPORTER_OTLP_${signal.toUpperCase()}_HEADERS`]?.trim()),
  };
  const names = new Set(Object.keys(configured).map((k) => k.toLowerCase()));
  const headers: Record<string, string> = {};
  for (const [key, value] of Object.entries(fromEnvironment)) {
    if (!names.has(key.toLowerCase())) headers[key] = value;
  }
  return Object.assign(headers, configured);
}
