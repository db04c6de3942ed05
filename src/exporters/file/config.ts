// Config of the `file` exporter, as written under `exporters: file[/name]:`.
import { statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Schema } from 'convict';
import type { SettingProblem } from '../../component';
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

/**
 * The file factory's validate(): what the path is on this host now, so that `validate` refuses a
 * path `run` could never open. A directory that does not exist yet is fine (start() creates it);
 * a missing directory under a file is not, and is reported as ENOTDIR (mkdir -p would say EEXIST
 * about the file, and a recursive mkdir under /proc can loop instead of failing).
 */
export function validateFileExporterConfig(config: FileExporterConfig): SettingProblem | undefined {
  const path = resolve(config.path);
  const self = statOrUndefined(path);
  if (self?.isDirectory()) {
    return { key: 'path', message: `is a directory, got ${JSON.stringify(config.path)}; name a file in it, e.g. ${JSON.stringify(`${path.replace(/\/$/, '')}/telemetry.jsonl`)}` };
  }
  // The nearest ancestor that exists must be a directory, else nothing can be created below it.
  for (let dir = dirname(path); ; dir = dirname(dir)) {
    const stats = statOrUndefined(dir);
    if (stats) {
      if (!stats.isDirectory()) {
        return { key: 'path', message: `cannot be created: ${dir} is not a directory (ENOTDIR), got ${JSON.stringify(config.path)}` };
      }
      return undefined;
    }
    if (dir === dirname(dir)) return undefined;
  }
}

function statOrUndefined(path: string): ReturnType<typeof statSync> | undefined {
  try {
    return statSync(path);
  } catch {
    // Missing, or not searchable by the agent: start() reports the latter with its errno.
    return undefined;
  }
}
