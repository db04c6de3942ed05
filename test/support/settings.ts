// CreateSettings for component tests: the agent resource plus a logger that records its lines.
import type { CreateSettings } from '../../src/component';
import { createLogger, type LogLevel } from '../../src/logger';
import { resource } from './telemetry-fixtures';

export interface RecordedSettings extends CreateSettings {
  /** Every line the component logged, without the timestamp: `LEVEL scope: message`. */
  readonly lines: string[];
}

export function testSettings(type: string, name?: string, level: LogLevel = 'debug'): RecordedSettings {
  const lines: string[] = [];
  const text = name ? `${type}/${name}` : type;
  const logger = createLogger(level, (line) => lines.push(line.replace(/^\S+ /, ''))).child(text);
  return { id: { type, name, text }, resource, logger, lines };
}
