import type { Resource } from '@opentelemetry/resources';
import type { AgentLogger } from '../logger';

/** What the service hands every component it creates (each gets a logger scoped to its id). */
export interface ServiceSettings {
  readonly resource: Resource;
  readonly logger: AgentLogger;
}
