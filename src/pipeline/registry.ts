// The one place the wiring looks factories up: by kind (receiver, processor, exporter) and by the
// type written in the config. Built once at start-up from the list in src/components.ts.
import convict from 'convict';
import type {
  ComponentKind,
  ExporterFactory,
  Factory,
  ProcessorFactory,
  ReceiverFactory,
} from '../component';
import { COMPONENT_TYPE } from '../config/ids';

/** The factory type that belongs to each component kind. */
export interface FactoryOfKind {
  receiver: ReceiverFactory;
  processor: ProcessorFactory;
  exporter: ExporterFactory;
}

export const COMPONENT_KINDS: readonly ComponentKind[] = ['receiver', 'processor', 'exporter'];

export class FactoryRegistry {
  private readonly byKind: { readonly [K in ComponentKind]: Map<string, FactoryOfKind[K]> } = {
    receiver: new Map(),
    processor: new Map(),
    exporter: new Map(),
  };

  /**
   * Throws on a malformed type, a duplicate (kind, type) or a schema convict refuses: these are
   * programming errors in a factory, and finding them at start-up beats finding them when a user
   * first configures that component.
   */
  constructor(factories: readonly Factory[]) {
    for (const factory of factories) this.add(factory);
  }

  get<K extends ComponentKind>(kind: K, type: string): FactoryOfKind[K] | undefined {
    return this.byKind[kind].get(type);
  }

  /** Registered types of one kind, sorted, for "known types are ..." messages. */
  types(kind: ComponentKind): string[] {
    return [...this.byKind[kind].keys()].sort();
  }

  private add(factory: Factory): void {
    const where = `${factory.kind} factory "${factory.type}"`;
    if (!COMPONENT_TYPE.test(factory.type)) {
      throw new Error(`${where}: type must be lower_snake_case (it is the config type and folder name)`);
    }
    if (factory.signals.length === 0) throw new Error(`${where}: supports no signal`);
    try {
      // Isolated from process.env and argv: component settings come from the config file only.
      convict(factory.schema, { env: {}, args: [] });
    } catch (error) {
      throw new Error(`${where}: invalid convict schema: ${(error as Error).message}`, { cause: error });
    }
    const map = this.byKind[factory.kind] as Map<string, Factory>;
    if (map.has(factory.type)) throw new Error(`${where} is registered twice`);
    map.set(factory.type, factory);
  }
}
