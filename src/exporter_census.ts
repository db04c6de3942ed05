// The agent keeps a list of the exporters the service creates, without the wiring having to hand
// them out: it needs them to flush on SIGHUP, to size the shutdown limit from their own bounds, and
// to log what each one dropped when the agent stops. It records the receivers too, for the health
// endpoint's readiness (each receiver reports when its programs attached).
import type { ComponentKind, Exporter, ExporterFactory, Receiver, ReceiverFactory } from './component';
import { FactoryRegistry, type FactoryOfKind } from './pipeline/registry';

export interface CreatedExporter {
  /** The id as written in the config: `otlp`, `file/audit`. */
  readonly id: string;
  readonly exporter: Exporter;
}

export interface CreatedReceiver {
  readonly id: string;
  readonly receiver: Receiver;
}

/** A registry that hands out the same factories, recording each exporter and receiver created through it. */
export class ExporterCensus extends FactoryRegistry {
  readonly created: CreatedExporter[] = [];
  readonly receivers: CreatedReceiver[] = [];

  constructor(private readonly inner: FactoryRegistry) {
    super([]);
  }

  override get<K extends ComponentKind>(kind: K, type: string): FactoryOfKind[K] | undefined {
    const factory = this.inner.get(kind, type);
    if (factory === undefined) return factory;
    if (kind === 'receiver') {
      const receiverFactory = factory as ReceiverFactory;
      const recordedReceiver: ReceiverFactory = {
        ...receiverFactory,
        create: (settings, config, next) => {
          const receiver = receiverFactory.create(settings, config, next);
          this.receivers.push({ id: settings.id.text, receiver });
          return receiver;
        },
      };
      return recordedReceiver as FactoryOfKind[K];
    }
    if (kind !== 'exporter') return factory;
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
