// Config of the `file` exporter, as written under `exporters: file[/name]:`.
import type { Schema } from 'convict';
import { durationFormat, parseDuration, type DurationSetting } from '../duration';

export interface FileExporterConfig {
  /** File the OTLP/JSON lines are appended to; created, with its directory, when missing. */
  path: string;
  /** How often buffered lines are written out: milliseconds, or a string like "1s". */
  flush_interval: DurationSetting;
}

/** The config with durations resolved, as the exporter uses it. */
export interface FileExporterSettings {
  readonly path: string;
  readonly flushIntervalMs: number;
}

export const fileExporterSchema: Schema<FileExporterConfig> = {
  path: {
    doc: 'File to append OTLP/JSON lines to (one ExportMetricsServiceRequest or ExportLogsServiceRequest per line). Required.',
    format: (value: unknown) => {
      if (typeof value !== 'string' || value.trim() === '') {
        throw new Error('is required: the file to write OTLP/JSON lines to, e.g. /var/lib/tcpscope/telemetry.jsonl');
      }
    },
    default: '',
  },
  flush_interval: {
    doc: 'How often buffered lines are appended to the file: milliseconds, or a duration string such as "1s" or "500ms". Lines are also written when the buffer passes 1 MiB, on forceFlush and on shutdown.',
    format: durationFormat(1),
    // A string default on purpose: convict coerces string values by the type of the default, and
    // a number default would turn "1m" into parseFloat("1m") = 1 before our format sees it.
    default: '1s',
  },
};

export function resolveFileExporterConfig(config: FileExporterConfig): FileExporterSettings {
  return { path: config.path, flushIntervalMs: parseDuration(config.flush_interval) };
}
