// The `debug` exporter: telemetry as text on stdout, for trying the agent out and debugging.
import type { ExporterFactory } from '../../component';
import { debugExporterSchema, type DebugExporterConfig } from './config';
import { DebugExporter } from './debug_exporter';

export type { DebugExporterConfig, Verbosity } from './config';
export { DebugExporter, type TextOutput } from './debug_exporter';

export const debugExporterFactory: ExporterFactory<DebugExporterConfig> = {
  kind: 'exporter',
  type: 'debug',
  signals: ['metrics', 'logs'],
  schema: debugExporterSchema,
  create: (settings, config, signals) => new DebugExporter(settings, config, signals),
};
