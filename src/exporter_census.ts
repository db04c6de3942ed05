// The agent keeps a list of the exporters the service creates, without the wiring having to hand
// them out: it needs them to flush on SIGHUP, to size the shutdown limit from their own bounds, and
// to log what each one dropped when the agent stops.
import type { ComponentKind, Exporter, ExporterFactory } from './component';
import { FactoryRegistry, type FactoryOfKind } from './pipeline/registry';

export interface CreatedExporter {
  /** The id as written in the config: `otlp`, `file/audit`. */
  readonly id: string;
  readonly exporter: Exporter;
}

/** A registry that hands out the same factories, recording each exporter created through it. */
export class ExporterCensus extends FactoryRegistry {
  readonly created: CreatedExporter[] = [];

  constructor(private readonly inner: FactoryRegistry) {
    super([]);
  }

  override get<K extends ComponentKind>(kind: K, type: string): FactoryOfKind[K] | undefined {
    const factory = this.inner.get(kind, type);
    if (kind !== 'exporter' || factory === undefined) return factory;
    const exporterFactory = factory as ExporterFactory;
    const recorded: ExporterFactory = {
      ...exporterFactory,
      create: (settings, config, signals) => {
        const exporter = exporterFactory.create(settings, config, signals);
        this.created.push({ id: settings.id.text, exporter });
        return exporter;
      },
    };
    return recorded as FactoryOfKind[K];
  }

  override types(kind: ComponentKind): string[] {
    return this.inner.types(kind);
  }
}
