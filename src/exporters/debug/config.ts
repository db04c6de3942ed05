// Config of the `debug` exporter, as written under `exporters: debug[/name]:`.
import type { Schema } from 'convict';

export const VERBOSITIES = ['basic', 'normal', 'detailed'] as const;
export type Verbosity = (typeof VERBOSITIES)[number];

export interface DebugExporterConfig {
  verbosity: Verbosity;
}

export const debugExporterSchema: Schema<DebugExporterConfig> = {
  verbosity: {
    doc: 'how much to print: basic (one summary line per export), normal (a line per log record or data point) or detailed (every field, multi-line)',
    format: [...VERBOSITIES],
    default: 'basic',
  },
};
