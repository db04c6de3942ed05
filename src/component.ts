// Shared contracts of the pipeline, modelled on the OpenTelemetry Collector's component API.
// Every receiver, processor and exporter folder implements one of the factories below; the
// wiring (src/pipeline/) only ever sees these types.
import type { Resource } from '@opentelemetry/resources';
import type { ResourceMetrics } from '@opentelemetry/sdk-metrics';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import type { Schema } from 'convict';
import type { AgentLogger } from './logger';
import type { SamplingPredicate } from './telemetry/sampling_predicate';

export type Signal = 'metrics' | 'logs';
export const SIGNALS: readonly Signal[] = ['metrics', 'logs'];

/** The payload each signal carries through a pipeline. */
export interface SignalData {
  metrics: ResourceMetrics;
  logs: readonly ReadableLogRecord[];
}

/** Something that accepts data of one signal: a processor, an exporter or a fan-out. */
export interface Consumer<S extends Signal> {
  consume(data: SignalData[S]): Promise<void>;
}

/** The next consumer of each signal a receiver feeds (absent when no pipeline of that signal uses it). */
export type Consumers = { readonly [S in Signal]?: Consumer<S> };

/** What a running component may ask of the agent. */
export interface Host {
  /** Called when a component fails after start() and the agent must stop. */
  reportFatal(error: Error): void;
}

/**
 * start() returns quickly (long work continues in the background); shutdown() is idempotent,
 * safe without start(), and for exporters flushes what is buffered.
 */
export interface Component {
  start(host: Host): Promise<void>;
  shutdown(): Promise<void>;
}

export type Receiver = Component;

export interface Processor<S extends Signal> extends Component, Consumer<S> {}

export interface Exporter extends Component {
  /** One consumer per signal the exporter was configured for. */
  readonly consumers: Consumers;
  forceFlush(): Promise<void>;
}

/** `type[/name]`, as in the Collector. */
export interface ComponentId {
  readonly type: string;
  readonly name?: string;
  /** The id as written in the config: `type` or `type/name`. */
  readonly text: string;
}

export interface CreateSettings {
  readonly id: ComponentId;
  /** Describes the agent itself (service.name=tcpscope, host.name, ...). */
  readonly resource: Resource;
  readonly logger: AgentLogger;
  /**
   * The host's cgroup2 root directory, checked at start-up to be the host's root cgroup (id 1):
   * what a CgroupResolver walks to name kernel cgroup ids. Absent: the agent found none (a cgroup
   * v1 host) or the component was created outside the agent (tests), which then look for one.
   */
  readonly hostCgroupRoot?: string;
  /**
   * Receivers only: the kinds of events that the other receivers feeding a logs pipeline this one
   * feeds always report (their factories' `reportsEvents`), so that two receivers able to report
   * the same happening (a successful connect is seen by tcp_lifecycle and tcp_handshake) agree
   * that only one of them does, without naming each other.
   */
  readonly logsPeerEvents?: ReadonlySet<EventKind>;
  /**
   * Receivers only: the sampling predicate that every logs pipeline this receiver feeds applies
   * before anything could add events or change what the predicate reads. A receiver may evaluate
   * it where events are born (the kernel) and drop there what the pipelines would drop anyway;
   * the processors still run. Absent when the pipelines sample differently or not at all.
   */
  readonly logsSampling?: SamplingPredicate;
  /**
   * Receivers only: whether any logs pipeline this receiver feeds has a sampling processor,
   * wherever it stands. false: records need not carry what only sampling reads (the kernel's
   * connection hash, which costs kernel time per socket). Absent: as if true.
   */
  readonly logsSampled?: boolean;
}

/**
 * What a logs processor does to the event stream, as far as pushing a sampling predicate down to
 * a receiver is concerned. `passes_through`: never adds or drops events and never changes the
 * attributes a sampling predicate reads (addresses, ports, error.type, tcp.*); it may add others.
 * `samples`: drops events by `predicate(config)` and changes nothing else a predicate reads.
 * A processor without one is opaque: nothing after it is pushed down.
 */
export type LogsStreamEffect<C> =
  | { readonly kind: 'passes_through' }
  | { readonly kind: 'samples'; predicate(config: C): SamplingPredicate };

/**
 * Kinds of log events a receiver can declare it always reports (ReceiverFactory.reportsEvents).
 * `established_connect`: a tcp.connect event for every successful outbound handshake;
 * `established_accept`: a tcp.accept event for every successful inbound one.
 */
export type EventKind = 'established_connect' | 'established_accept';

export type ComponentKind = 'receiver' | 'processor' | 'exporter';

/** What a factory's validate() found wrong: `key` is the dotted path inside the component's settings. */
export interface SettingProblem {
  readonly key: string;
  /** What was expected, e.g. `must be at least initial_interval ("5s"), got "1s"`. */
  readonly message: string;
}

interface FactoryBase<C> {
  readonly type: string;
  /** Signals this component can take part in. */
  readonly signals: readonly Signal[];
  /** convict schema of this component's config; defaults live in the schema. */
  readonly schema: Schema<C>;
  /**
   * Checks the schema cannot express (across keys, against the host), like the Collector's
   * Validate(). Called by config validation after the schema passed, so `tcpscope validate` and
   * `tcpscope run` refuse the same configs with the same message; create() may then trust `config`.
   */
  validate?(config: C): SettingProblem | undefined;
}

export interface ReceiverFactory<C = unknown> extends FactoryBase<C> {
  readonly kind: 'receiver';
  /** Events it always reports to its logs pipelines with this config; others sharing a pipeline may leave them out. */
  reportsEvents?(config: C): readonly EventKind[];
  /** One receiver instance per id, shared by every pipeline that lists it. */
  create(settings: CreateSettings, config: C, next: Consumers): Receiver;
}

export interface ProcessorFactory<C = unknown> extends FactoryBase<C> {
  readonly kind: 'processor';
  /** How it changes the logs stream, for sampling push-down (absent: opaque). */
  readonly logsEffect?: LogsStreamEffect<C>;
  /** One processor instance per (id, pipeline). */
  create<S extends Signal>(settings: CreateSettings, config: C, signal: S, next: Consumer<S>): Processor<S>;
}

export interface ExporterFactory<C = unknown> extends FactoryBase<C> {
  readonly kind: 'exporter';
  /** One exporter instance per id, with a consumer for each signal in `signals`. */
  create(settings: CreateSettings, config: C, signals: readonly Signal[]): Exporter;
}

export type Factory = ReceiverFactory | ProcessorFactory | ExporterFactory;
