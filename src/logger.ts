// The agent's own log: one line per message on stderr, so that stdout stays free for the debug
// exporter's data.

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface AgentLogger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
  /** A logger whose lines are prefixed with a component id. */
  child(scope: string): AgentLogger;
}

export function createLogger(
  level: LogLevel = 'info',
  write: (line: string) => void = (line) => process.stderr.write(line + '\n'),
  scope = '',
): AgentLogger {
  const min = LEVELS[level];
  const emit = (at: LogLevel, message: string) => {
    if (LEVELS[at] < min) return;
    const prefix = scope ? `${scope}: ` : '';
    write(`${new Date().toISOString()} ${at.toUpperCase().padEnd(5)} ${prefix}${message}`);
  };
  return {
    debug: (m) => emit('debug', m),
    info: (m) => emit('info', m),
    warn: (m) => emit('warn', m),
    error: (m) => emit('error', m),
    child: (s) => createLogger(level, write, scope ? `${scope}/${s}` : s),
  };
}
