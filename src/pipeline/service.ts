// The running graph: starts components exporters → processors → receivers, so that no data is
// produced before its consumers are ready, and shuts them down in the exact reverse, so receivers
// stop producing first and exporters flush last.
import type { Host } from '../component';
import type { ValidatedConfig } from '../config/types';
import type { AgentLogger } from '../logger';
import { buildGraph, type GraphEntry, type StartOrder } from './graph';
import type { FactoryRegistry } from './registry';
import type { ServiceSettings } from './service_settings';

export type { ServiceSettings } from './service_settings';

export interface Service {
  /**
   * Starts every component. If one fails, the ones already started and the failing one are shut
   * down in reverse order and its error is thrown. Can be called once.
   */
  start(host: Host): Promise<void>;
  /**
   * Shuts down every component whose start was attempted, receivers first, exporters (which
   * flush) last. Idempotent (later calls return the first call's promise), safe without start(),
   * and safe during start() (it waits, and no further component is started). A failing component
   * does not stop the others: all errors are thrown together as one AggregateError at the end.
   */
  shutdown(): Promise<void>;
  /** One line per pipeline for the startup banner: `logs: tcp_lifecycle -> sampling -> debug`. */
  describe(): string[];
}

export function buildService(config: ValidatedConfig, registry: FactoryRegistry, settings: ServiceSettings): Service {
  return new GraphService(buildGraph(config, registry, settings), describePipelines(config), settings.logger);
}

export function describePipelines(config: ValidatedConfig): string[] {
  return config.pipelines.map(
    (p) => `${p.id.text}: ${[p.receivers.join(', '), ...p.processors, p.exporters.join(', ')].join(' -> ')}`,
  );
}

class GraphService implements Service {
  /** Components whose start() was called, in start order; these are the ones shutdown() stops. */
  private readonly attempted: GraphEntry[] = [];
  private starting: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;

  constructor(
    private readonly startOrder: StartOrder,
    private readonly pipelineLines: readonly string[],
    private readonly logger: AgentLogger,
  ) {}

  async start(host: Host): Promise<void> {
    if (this.starting) throw new Error('the service was already started');
    if (this.stopping) throw new Error('the service was shut down before it started');
    this.starting = this.startAll(host);
    try {
      await this.starting;
    } catch (error) {
      // Nothing stays half-started: roll back, then report the start failure, not the rollback's.
      await this.shutdown().catch((rollback: unknown) =>
        this.logger.error(`while rolling back a failed start: ${describeError(rollback)}`),
      );
      throw error;
    }
  }

  shutdown(): Promise<void> {
    this.stopping ??= this.stopAll();
    return this.stopping;
  }

  describe(): string[] {
    return [...this.pipelineLines];
  }

  private async startAll(host: Host): Promise<void> {
    for (const entry of this.startOrder) {
      if (this.stopping) return;
      this.attempted.push(entry);
      this.logger.debug(`starting ${entry.label}`);
      try {
        await entry.component.start(host);
      } catch (error) {
        this.logger.error(`${entry.label} failed to start: ${describeError(error)}`);
        throw error;
      }
    }
  }

  private async stopAll(): Promise<void> {
    // A shutdown during start waits for the component being started, then stops what started.
    await this.starting?.catch(() => undefined);
    const errors: unknown[] = [];
    for (const entry of [...this.attempted].reverse()) {
      this.logger.debug(`shutting down ${entry.label}`);
      try {
        await entry.component.shutdown();
      } catch (error) {
        this.logger.error(`${entry.label} failed to shut down: ${describeError(error)}`);
        errors.push(error);
      }
    }
    if (errors.length > 0) {
      throw new AggregateError(
        errors,
        `${errors.length} component(s) failed to shut down; first: ${describeError(errors[0])}`,
      );
    }
  }
}

function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
