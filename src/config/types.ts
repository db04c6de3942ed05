// The data model of a config, before and after validation.
import type { ComponentId, ComponentKind, Signal } from '../component';
import type { LogLevel } from '../logger';
import type { CaptureSettings } from '../receivers/packet_capture/control/config';

/** A config file as parsed from YAML, after `${env:...}` substitution and before validation. */
export type ConfigDocument = { readonly [key: string]: unknown };

/** `metrics`, `logs`, `metrics/<name>`, `logs/<name>`. */
export interface PipelineId {
  readonly signal: Signal;
  readonly name?: string;
  /** The id as written in the config. */
  readonly text: string;
}

export interface ValidatedComponent {
  readonly kind: ComponentKind;
  readonly id: ComponentId;
  /** The component's settings with schema defaults applied (what convict's getProperties() returns). */
  readonly config: unknown;
}

export interface PipelineSpec {
  readonly id: PipelineId;
  /** Component ids (`type[/name]`), in the order the config lists them. */
  readonly receivers: readonly string[];
  readonly processors: readonly string[];
  readonly exporters: readonly string[];
}

export interface TelemetrySettings {
  readonly logs: { readonly level: LogLevel };
  /** Overrides of the agent's Resource attributes (null removes one), as the Collector's service.telemetry.resource. */
  readonly resource: Readonly<Record<string, string | null>>;
  /** The health endpoint (/healthz, /readyz), like the Collector's health_check extension; null: off. */
  readonly health: { readonly endpoint: string | null };
}

/** `service.host`: where the agent finds the host it observes. */
export interface HostSettings {
  /**
   * The host's cgroup2 hierarchy as mounted into the agent's file system (e.g. /host/sys/fs/cgroup
   * in a container); '' finds it in /proc/self/mountinfo (the cgroup2 mount that is the host's
   * root cgroup).
   */
  readonly cgroup_root: string;
}

/**
 * A config that passed every check. Every component listed here is used by at least one pipeline
 * and every pipeline reference resolves to a component of the right kind and signal. Components
 * and pipelines keep the config file's order.
 */
export interface ValidatedConfig {
  readonly receivers: ReadonlyMap<string, ValidatedComponent>;
  readonly processors: ReadonlyMap<string, ValidatedComponent>;
  readonly exporters: ReadonlyMap<string, ValidatedComponent>;
  readonly pipelines: readonly PipelineSpec[];
  readonly telemetry: TelemetrySettings;
  readonly host: HostSettings;
  /** `service.capture`: the control socket of `tcpscope capture` and the scheduled captures. */
  readonly capture: CaptureSettings;
}
