// The agent as a library: load and validate the config, build the service, start it, and stop it
// once. The CLI (src/cli.ts) adds signals and exit codes on top; tests call runAgent() in-process.
import { resolve } from 'node:path';
import type { Host } from './component';
import { defaultRegistry } from './components';
import { loadConfigFile, validateConfig, type Environment, type ValidatedConfig } from './config';
import { TcpscopeError } from './errors';
import { createLogger, type AgentLogger } from './logger';
import { buildService, type FactoryRegistry, type Service } from './pipeline';
import { agentResource } from './resource';
import { VERSION } from './version';

/** How long a shutdown (with the exporters' final flush) may take before the agent gives up on it. */
export const SHUTDOWN_TIMEOUT_MS = 10_000;

export interface RunOptions {
  readonly configPath: string;
  /** Factories to build from; the shipped ones (src/components.ts) when absent. */
  readonly registry?: FactoryRegistry;
  /** For `${env:...}` substitution and the agent Resource; process.env when absent. */
  readonly env?: Environment;
  /** Receives each of the agent's own log lines; stderr when absent. */
  readonly writeLog?: (line: string) => void;
  readonly shutdownTimeoutMs?: number;
}

export interface RunningAgent {
  readonly config: ValidatedConfig;
  readonly service: Service;
  readonly logger: AgentLogger;
  /**
   * Resolves with the exit code once the agent has stopped: 0 after a clean stop(), 1 after a
   * component reported a fatal error, a component failed to shut down, or shutdown timed out.
   */
  readonly stopped: Promise<number>;
  /** Shuts the service down (exporters flush). Idempotent: later calls get the first result. */
  stop(reason: string): Promise<number>;
}

/**
 * Loads, validates, builds and starts. Throws a ConfigError before anything is created when the
 * config is wrong, and the failing component's error (after rolling back) when a start fails.
 */
export async function runAgent(options: RunOptions): Promise<RunningAgent> {
  const registry = options.registry ?? defaultRegistry();
  const env = options.env ?? process.env;
  const configPath = resolve(options.configPath);
  const config = validateConfig(loadConfigFile(configPath, env), registry);
  const logger = createLogger(config.telemetry.logs.level, options.writeLog);
  const service = buildService(config, registry, { resource: agentResource(env), logger });
  const timeoutMs = options.shutdownTimeoutMs ?? SHUTDOWN_TIMEOUT_MS;

  for (const line of banner(configPath, config, service)) logger.info(line);

  let settle: (code: number) => void = () => undefined;
  const stopped = new Promise<number>((resolveStopped) => (settle = resolveStopped));
  let stopping: Promise<number> | undefined;
  const stop = (reason: string, code: number): Promise<number> => {
    stopping ??= shutDown(service, logger, reason, code, timeoutMs).then((exitCode) => {
      settle(exitCode);
      return exitCode;
    });
    return stopping;
  };
  const host: Host = {
    reportFatal: (error) => {
      logger.error(`fatal: ${describeError(error)}`);
      void stop('a component failed', 1);
    },
  };

  await service.start(host);
  if (!stopping) logger.info(`running ${config.pipelines.length} pipeline(s); stop with SIGTERM or SIGINT`);
  return { config, service, logger, stopped, stop: (reason) => stop(reason, 0) };
}

function banner(configPath: string, config: ValidatedConfig, service: Service): string[] {
  const list = (ids: ReadonlyMap<string, unknown>) => (ids.size > 0 ? [...ids.keys()].join(', ') : '(none)');
  return [
    `tcpscope ${VERSION} starting with config ${configPath}`,
    `receivers: ${list(config.receivers)}`,
    `processors: ${list(config.processors)}`,
    `exporters: ${list(config.exporters)}`,
    ...service.describe().map((line) => `pipeline ${line}`),
  ];
}

async function shutDown(
  service: Service,
  logger: AgentLogger,
  reason: string,
  code: number,
  timeoutMs: number,
): Promise<number> {
  logger.info(`${reason}, shutting down`);
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<number>((resolveTimeout) => {
    timer = setTimeout(() => {
      logger.error(`shutdown did not finish within ${timeoutMs / 1000} s; giving up (buffered data may be lost)`);
      resolveTimeout(1);
    }, timeoutMs);
  });
  const finished = service.shutdown().then(
    () => {
      logger.info('stopped');
      return code;
    },
    (error: unknown) => {
      logger.error(`shutdown failed: ${describeError(error)}`);
      return 1;
    },
  );
  try {
    return await Promise.race([finished, timedOut]);
  } finally {
    clearTimeout(timer);
  }
}

/** `CODE: message` for typed errors (with each member of an AggregateError on its own line). */
export function describeError(error: unknown): string {
  if (error instanceof AggregateError) {
    return [error.message, ...error.errors.map((e: unknown) => `  - ${describeError(e)}`)].join('\n');
  }
  if (error instanceof TcpscopeError) return `${error.code}: ${error.message}`;
  if (error instanceof Error) return error.message;
  return String(error);
}
