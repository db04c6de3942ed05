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
    doc: 'file to append OTLP/JSON lines to, one export request per line; created with its directory when missing',
    format: (value: unknown) => {
      if (typeof value !== 'string' || value.trim() === '') {
        throw new Error('must be a non-empty file path, e.g. /var/lib/tcpscope/telemetry.jsonl');
      }
    },
    default: '',
  },
  flush_interval: {
    doc: 'how often buffered lines are appended: milliseconds, or a duration such as "500ms" or "1s"',
    format: durationFormat(1),
    // A string default on purpose: convict coerces string values by the type of the default, and
    // a number default would turn "1m" into parseFloat("1m") = 1 before our format sees it.
    default: '1s',
  },
};

export function resolveFileExporterConfig(config: FileExporterConfig): FileExporterSettings {
  return { path: config.path, flushIntervalMs: parseDuration(config.flush_interval) };
}
