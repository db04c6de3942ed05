// CreateSettings for component tests whose log lines are part of what is tested: the logger
// records every line (without its timestamp) instead of printing it.
import type { CreateSettings } from '../../src/component';
import { createLogger, type LogLevel } from '../../src/logger';
import { resource } from './telemetry-fixtures';

export interface RecordedSettings extends CreateSettings {
  /** Every line the component logged, as `LEVEL scope: message` (LEVEL padded to 5). */
  readonly lines: string[];
}

export function recordingSettings(type: string, name?: string, level: LogLevel = 'debug'): RecordedSettings {
  const lines: string[] = [];
  const text = name ? `${type}/${name}` : type;
  const logger = createLogger(level, (line) => lines.push(line.replace(/^\S+ /, ''))).child(text);
  return { id: { type, name, text }, resource, logger, lines };
}
