import type { Resource } from '@opentelemetry/resources';
import type { AgentLogger } from '../logger';

/** What the service hands every component it creates (each gets a logger scoped to its id). */
export interface ServiceSettings {
  readonly resource: Resource;
  readonly logger: AgentLogger;
  /** The host's cgroup2 root directory receivers walk (see host/host_cgroup_root.ts); absent: none. */
  readonly hostCgroupRoot?: string;
}
