// Turns a validated config into component instances wired together, following the Collector:
// one exporter per exporter id (with a consumer for each signal it is used for), one processor per
// (processor id, pipeline) chained in the listed order, and one receiver per receiver id shared by
// every pipeline that lists it. Nothing is started here.
import {
  SIGNALS,
  type Component,
  type ComponentId,
  type Consumer,
  type Consumers,
  type CreateSettings,
  type EventKind,
  type Exporter,
  type Signal,
} from '../component';
import type { PipelineSpec, ValidatedComponent, ValidatedConfig } from '../config/types';
import { TcpscopeError } from '../errors';
import type { ServiceSettings } from './service_settings';
import { AgentProcessMetricsAppender } from './agent_process_metrics';
import { EventDelayAppender, EventDelays } from './event_delay';
import { ExporterDropsAppender } from './exporter_drops';
import { fanout } from './fanout';
import type { FactoryOfKind, FactoryRegistry } from './registry';
import { logsPipelinesSample, samplingPushdownFor } from './sampling_pushdown';

export interface GraphEntry {
  /** `exporter "debug"`, `processor "sampling" in pipeline logs`: for log lines and errors. */
  readonly label: string;
  readonly component: Component;
}

/**
 * Components in start order: exporters, then processors (within a pipeline the one nearest the
 * exporters first, so nothing forwards into a component that has not started), then receivers.
 * Shutdown is the exact reverse.
 */
export type StartOrder = readonly GraphEntry[];

type PipelineHeads = { [S in Signal]: Map<string, Consumer<S>> };

export function buildGraph(config: ValidatedConfig, registry: FactoryRegistry, settings: ServiceSettings): StartOrder {
  const exporters = new Map<string, Exporter>();
  const exporterEntries: GraphEntry[] = [];
  for (const [text, spec] of config.exporters) {
    const signals = SIGNALS.filter((signal) =>
      config.pipelines.some((p) => p.id.signal === signal && p.exporters.includes(text)),
    );
    const factory = factoryFor(registry, 'exporter', spec);
    const label = `exporter "${text}"`;
    const exporter = create(label, () => factory.create(settingsFor(settings, spec.id, text), spec.config, signals));
    for (const signal of signals) {
      if (!exporter.consumers[signal]) throw new Error(`${label} was created for ${signal} but has no ${signal} consumer`);
    }
    exporters.set(text, exporter);
    exporterEntries.push({ label, component: exporter });
  }

  const processorEntries: GraphEntry[] = [];
  const heads: PipelineHeads = { metrics: new Map(), logs: new Map() };
  // Measured at every hand-off of log records to an exporter, exported with the metrics.
  const delays = new EventDelays();
  for (const pipeline of config.pipelines) {
    buildPipeline(pipeline.id.signal, pipeline, config, registry, settings, exporters, delays, heads, processorEntries);
  }

  const receiverEntries: GraphEntry[] = [];
  for (const [text, spec] of config.receivers) {
    const next: { [S in Signal]?: Consumer<S> } = {};
    for (const signal of SIGNALS) connectReceiver(signal, text, config.pipelines, heads, next);
    const factory = factoryFor(registry, 'receiver', spec);
    const label = `receiver "${text}"`;
    const consumers: Consumers = next;
    const logsPeerEvents = peerEvents(text, config, registry);
    const pushdown = samplingPushdownFor(text, config, registry);
    const receiverSettings: CreateSettings = {
      ...settingsFor(settings, spec.id, text),
      logsPeerEvents,
      logsSampling: pushdown.sampling,
      logsSampled: logsPipelinesSample(text, config, registry),
    };
    if (pushdown.notPushedDown) receiverSettings.logger.info(`sampling is not pushed down to the receiver: ${pushdown.notPushedDown}`);
    const receiver = create(label, () => factory.create(receiverSettings, spec.config, consumers));
    receiverEntries.push({ label, component: receiver });
  }
  return [...exporterEntries, ...processorEntries, ...receiverEntries];
}

/**
 * What the other receivers of `receiver`'s logs pipelines declare they always report: computed
 * from their factories' capabilities, so that no receiver needs to know another by name.
 */
function peerEvents(receiver: string, config: ValidatedConfig, registry: FactoryRegistry): Set<EventKind> {
  const peers = new Set(
    config.pipelines.filter((p) => p.id.signal === 'logs' && p.receivers.includes(receiver)).flatMap((p) => p.receivers.filter((r) => r !== receiver)),
  );
  const kinds = new Set<EventKind>();
  for (const peer of peers) {
    const spec = lookup(config.receivers, peer, 'receiver');
    for (const kind of factoryFor(registry, 'receiver', spec).reportsEvents?.(spec.config) ?? []) kinds.add(kind);
  }
  return kinds;
}

/** Builds one pipeline's processor chain back to front and records its head. */
function buildPipeline<S extends Signal>(
  signal: S,
  pipeline: PipelineSpec,
  config: ValidatedConfig,
  registry: FactoryRegistry,
  settings: ServiceSettings,
  exporters: ReadonlyMap<string, Exporter>,
  delays: EventDelays,
  heads: PipelineHeads,
  entries: GraphEntry[],
): void {
  let next: Consumer<S> = fanout(
    pipeline.exporters.map((id) => {
      const consumer = exporterConsumer(signal, exporters, id);
      return signal === 'logs' ? (delays.meter(id, consumer as Consumer<'logs'>) as Consumer<S>) : consumer;
    }),
  );
  if (signal === 'metrics') {
    const withDelays = new EventDelayAppender(delays, next as Consumer<'metrics'>);
    const withProcess = new AgentProcessMetricsAppender(exporters, withDelays);
    next = new ExporterDropsAppender(exporters, withProcess) as Consumer<S>;
  }
  for (const text of [...pipeline.processors].reverse()) {
    const spec = lookup(config.processors, text, 'processor');
    const factory = factoryFor(registry, 'processor', spec);
    const label = `processor "${text}" in pipeline ${pipeline.id.text}`;
    const downstream = next;
    const processor = create(label, () =>
      factory.create(settingsFor(settings, spec.id, `${text} (${pipeline.id.text})`), spec.config, signal, downstream),
    );
    entries.push({ label, component: processor });
    next = processor;
  }
  heads[signal].set(pipeline.id.text, next);
}

function connectReceiver<S extends Signal>(
  signal: S,
  receiver: string,
  pipelines: readonly PipelineSpec[],
  heads: PipelineHeads,
  next: { [K in Signal]?: Consumer<K> },
): void {
  const targets = pipelines
    .filter((p) => p.id.signal === signal && p.receivers.includes(receiver))
    .map((p) => heads[signal].get(p.id.text))
    .filter((c): c is Consumer<S> => c !== undefined);
  if (targets.length === 0) return;
  // TypeScript cannot write an optional mapped type through a generic key; the key and the
  // consumer share S, so this widening is sound.
  (next as { [K in Signal]?: Consumer<Signal> })[signal] = fanout(targets);
}

function exporterConsumer<S extends Signal>(signal: S, exporters: ReadonlyMap<string, Exporter>, id: string): Consumer<S> {
  const consumer = exporters.get(id)?.consumers[signal];
  if (!consumer) throw new Error(`exporter "${id}" has no ${signal} consumer`);
  return consumer;
}

function lookup(map: ReadonlyMap<string, ValidatedComponent>, text: string, kind: string): ValidatedComponent {
  const spec = map.get(text);
  // validateConfig() guarantees every reference resolves; this is a guard against a hand-built config.
  if (!spec) throw new Error(`pipeline references ${kind} "${text}" which the config does not define`);
  return spec;
}

function factoryFor<K extends keyof FactoryOfKind>(
  registry: FactoryRegistry,
  kind: K,
  spec: ValidatedComponent,
): FactoryOfKind[K] {
  const factory = registry.get(kind, spec.id.type);
  if (!factory) {
    throw new Error(`${kind} "${spec.id.text}": no factory for type "${spec.id.type}" (config validated against another registry?)`);
  }
  return factory;
}

function settingsFor(settings: ServiceSettings, id: ComponentId, scope: string): CreateSettings {
  return { id, resource: settings.resource, logger: settings.logger.child(scope), hostCgroupRoot: settings.hostCgroupRoot };
}

/** A factory that throws a plain Error gets the component named; typed errors keep their code. */
function create<T>(label: string, make: () => T): T {
  try {
    return make();
  } catch (error) {
    if (error instanceof TcpscopeError) throw error;
    const reason = error instanceof Error ? error.message : String(error);
    throw new TcpscopeError('COMPONENT_CREATE_FAILED', `${label} could not be created: ${reason}`, { cause: error });
  }
}
