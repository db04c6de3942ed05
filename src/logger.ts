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

let stderrGone = false;
let stderrWatched = false;

/**
 * Writes a line on stderr. When stderr's reader is gone (`tcpscope run 2>&1 | head`), the write
 * error (EPIPE) would be thrown at the process as an unhandled 'error' event and kill the agent
 * over its own log; instead the log goes quiet and the agent keeps running.
 */
export function writeStderrLine(line: string): void {
  if (!stderrWatched) {
    stderrWatched = true;
    process.stderr.on('error', () => (stderrGone = true));
  }
  if (!stderrGone) process.stderr.write(line + '\n');
}

export function createLogger(
  level: LogLevel = 'info',
  write: (line: string) => void = writeStderrLine,
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
