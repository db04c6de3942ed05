// The agent as a library: load and validate the config, build the service, start it, flush it on
// request, and stop it once. The CLI (src/cli.ts) adds signals and exit codes on top; tests call
// runAgent() in-process.
import { resolve } from 'node:path';
import type { Host } from './component';
import { defaultRegistry } from './components';
import { loadConfigFile, validateConfig, type Environment, type ValidatedConfig } from './config';
import { TcpscopeError } from './errors';
import { ExporterCensus, type CreatedExporter } from './exporter_census';
import { countsDroppedItems } from './exporters/dropped_items';
import { declaresShutdownBudget } from './exporters/shutdown_budget';
import { locateHostCgroupRoot } from './host/host_cgroup_root';
import { parseHealthEndpoint } from './health/endpoint';
import { HealthServer } from './health/health_server';
import { readinessReport, type ReadinessSource } from './health/readiness';
import { createLogger, writeStderrLine, type AgentLogger } from './logger';
import { buildService, type FactoryRegistry, type Service } from './pipeline';
import { PACKET_CAPTURE_TYPE } from './receivers/packet_capture/control/config';
import type { RunningCaptureControl } from './receivers/packet_capture/control/capture_control';
import { agentResource } from './resource';
import { VERSION } from './version';

/** The least time a shutdown (with the exporters' final flush) may take before the agent gives up on it. */
export const SHUTDOWN_TIMEOUT_MS = 10_000;
/**
 * Added to the exporters' own shutdown bounds: for receivers and processors to stop and for
 * exporters that declare no bound. Exporters stop one after another, so their bounds add up.
 */
export const SHUTDOWN_ALLOWANCE_MS = 5_000;

export interface RunOptions {
  readonly configPath: string;
  /** Factories to build from; the shipped ones (src/components.ts) when absent. */
  readonly registry?: FactoryRegistry;
  /** For `${env:...}` substitution and the agent Resource; process.env when absent. */
  readonly env?: Environment;
  /** Receives each of the agent's own log lines; stderr when absent. */
  readonly writeLog?: (line: string) => void;
  /** Overrides the shutdown limit derived from the exporters (see shutdownLimitMs). */
  readonly shutdownTimeoutMs?: number;
  /**
   * Checks of the host, run once the config is valid and the host cgroup root found, before
   * anything is built or started (the CLI's: capabilities, tracefs, bpf(); see checkBeforeStart).
   * A missing requirement then fails start-up at once, before exporters connect or the Kubernetes
   * client loads. Absent: none (tests with stand-in receivers need no kernel).
   */
  readonly preflight?: () => void;
}

export interface RunningAgent {
  readonly config: ValidatedConfig;
  readonly service: Service;
  readonly logger: AgentLogger;
  /** How long stop() waits for the service before giving up, in milliseconds. */
  readonly shutdownLimitMs: number;
  /**
   * Resolves with the exit code once the agent has stopped: 0 after a clean stop(), 1 after a
   * component reported a fatal error, a component failed to shut down, or shutdown timed out.
   */
  readonly stopped: Promise<number>;
  /** Shuts the service down (exporters flush). Idempotent: later calls get the first result. */
  stop(reason: string): Promise<number>;
  /**
   * Writes out what every exporter holds (SIGHUP) and keeps running. Failures are logged, never
   * thrown. Calls while a flush runs share it; after stop() it does nothing.
   */
  flush(reason: string): Promise<void>;
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
  const census = new ExporterCensus(registry);
  const resource = agentResource(env, config.telemetry.resource);
  // Before anything loads: walking a cgroup2 that is not the host's root (a pod's own, in its
  // private cgroup namespace) would mislabel every socket, so that refuses here (HostCgroupError).
  const cgroups = locateHostCgroupRoot(config.host.cgroup_root || undefined);
  options.preflight?.();
  const service = buildService(config, census, { resource, logger, hostCgroupRoot: cgroups.root });
  const limitMs = options.shutdownTimeoutMs ?? shutdownLimitMs(census.created);

  for (const line of banner(configPath, config, service)) logger.info(line);
  logger.info(`cgroup v2 hierarchy: ${cgroups.description}`);

  // Started before the receivers attach, so a probe sees /readyz go from 503 to 200.
  let phase: 'starting' | 'running' | 'stopping' = 'starting';
  const health = await startHealthServer(config, logger, () => phase, census);

  let settle: (code: number) => void = () => undefined;
  const stopped = new Promise<number>((resolveStopped) => (settle = resolveStopped));
  let stopping: Promise<number> | undefined;
  let captureControl: RunningCaptureControl | undefined;
  const stop = (reason: string, code: number): Promise<number> => {
    phase = 'stopping';
    // No capture is started once shutdown begins: the control socket closes first.
    stopping ??= (captureControl?.stop() ?? Promise.resolve()).then(() => shutDown(service, census.created, logger, reason, code, limitMs)).then(async (exitCode) => {
      await health?.stop();
      settle(exitCode);
      return exitCode;
    });
    return stopping;
  };
  let flushing: Promise<void> | undefined;
  const flush = (reason: string): Promise<void> => {
    if (stopping) return Promise.resolve();
    flushing ??= flushExporters(census.created, logger, reason).finally(() => (flushing = undefined));
    return flushing;
  };
  const host: Host = {
    reportFatal: (error) => {
      logger.error(`fatal: ${describeError(error)}`);
      void stop('a component failed', 1);
    },
  };

  try {
    await service.start(host);
  } catch (error) {
    await health?.stop();
    throw error;
  }
  // After the receivers started (a packet_capture receiver registers its service in start()).
  if (!stopping && [...config.receivers.values()].some((r) => r.id.type === PACKET_CAPTURE_TYPE)) {
    try {
      // Loaded only with a packet_capture receiver: the control server stays out of other agents' memory.
      const { startCaptureControl } = require('./receivers/packet_capture/control/capture_control') as typeof import('./receivers/packet_capture/control/capture_control');
      captureControl = await startCaptureControl({ settings: config.capture, logger, cgroupRoot: cgroups.root });
    } catch (error) {
      await service.shutdown().catch(() => undefined);
      await health?.stop();
      throw error;
    }
  }
  if (!stopping) {
    phase = 'running';
    logger.info(`running ${config.pipelines.length} pipeline(s); stop with SIGTERM or SIGINT, flush with SIGHUP`);
  }
  return { config, service, logger, shutdownLimitMs: limitMs, stopped, stop: (reason) => stop(reason, 0), flush };
}

/** Serves /healthz and /readyz when service.telemetry.health.endpoint is set; logs the bound address. */
async function startHealthServer(
  config: ValidatedConfig,
  logger: AgentLogger,
  phase: () => 'starting' | 'running' | 'stopping',
  census: ExporterCensus,
): Promise<HealthServer | undefined> {
  const endpoint = config.telemetry.health.endpoint;
  if (endpoint === null) return undefined;
  const sources = (): ReadinessSource[] => [
    ...census.receivers.map(({ id, receiver }) => ({ label: `receiver "${id}"`, component: receiver })),
    ...census.created.map(({ id, exporter }) => ({ label: `exporter "${id}"`, component: exporter })),
  ];
  const server = new HealthServer(parseHealthEndpoint(endpoint), () => readinessReport(phase(), sources()));
  const address = await server.start();
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  logger.info(`health endpoint listening on http://${host}:${address.port} (GET /healthz, GET /readyz)`);
  return server;
}

/** The shutdown limit: above the sum of the exporters' own bounds, never below SHUTDOWN_TIMEOUT_MS. */
export function shutdownLimitMs(exporters: readonly CreatedExporter[]): number {
  let bounded = 0;
  for (const { exporter } of exporters) if (declaresShutdownBudget(exporter)) bounded += exporter.shutdownBudgetMs();
  return Math.max(SHUTDOWN_TIMEOUT_MS, SHUTDOWN_ALLOWANCE_MS + bounded);
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

async function flushExporters(exporters: readonly CreatedExporter[], logger: AgentLogger, reason: string): Promise<void> {
  logger.info(`${reason}: flushing exporters and continuing (the config is not reloaded; restart tcpscope to apply a changed config)`);
  const results = await Promise.allSettled(exporters.map(({ exporter }) => exporter.forceFlush()));
  let failed = 0;
  results.forEach((result, i) => {
    if (result.status === 'fulfilled') return;
    failed++;
    logger.warn(`exporter "${exporters[i].id}" could not flush: ${describeError(result.reason)}`);
  });
  logger.info(`flushed ${exporters.length - failed} of ${exporters.length} exporter(s)`);
}

async function shutDown(
  service: Service,
  exporters: readonly CreatedExporter[],
  logger: AgentLogger,
  reason: string,
  code: number,
  timeoutMs: number,
): Promise<number> {
  logger.info(`${reason}, shutting down (limit ${timeoutMs / 1000} s)`);
  let timer: NodeJS.Timeout | undefined;
  let timedOut = false;
  const limit = new Promise<number>((resolveTimeout) => {
    timer = setTimeout(() => {
      timedOut = true;
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
    return await Promise.race([finished, limit]);
  } finally {
    clearTimeout(timer);
    logDropped(exporters, logger, timedOut);
  }
}

/** The last word on losses: what each exporter dropped since start, always logged at stop. */
function logDropped(exporters: readonly CreatedExporter[], logger: AgentLogger, incomplete: boolean): void {
  const parts: string[] = [];
  let total = 0;
  for (const { id, exporter } of exporters) {
    if (!countsDroppedItems(exporter)) continue;
    const dropped = exporter.droppedItems();
    total += dropped.metrics + dropped.logs;
    parts.push(`exporter "${id}" ${dropped.metrics} data points, ${dropped.logs} log records`);
  }
  if (parts.length === 0) return;
  const line = `dropped since start: ${parts.join('; ')}${incomplete ? ' (shutdown incomplete: items still held are not counted)' : ''}`;
  if (total > 0 || incomplete) logger.warn(line);
  else logger.info(line);
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

/**
 * SIGHUP: flush and go on. Init systems and terminals send it (a closed ssh session, `systemctl
 * reload`); its default action would kill the agent without a line or a flush. The config is not
 * reloaded: a changed config needs a restart, and the log line says so.
 */
export function onHangup(agent: RunningAgent | undefined, signal: string, writeEarly: (line: string) => void = writeStderrLine): void {
  if (agent) void agent.flush(`received ${signal}`);
  else writeEarly(`tcpscope: received ${signal} during start-up; ignored (SIGHUP flushes the exporters of a running agent)`);
}
