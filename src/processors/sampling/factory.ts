import type { Consumer, CreateSettings, Processor, ProcessorFactory, Signal } from '../../component';
import { ConfigError } from '../../errors';
import { samplingSchema, validateSamplingConfig, type SamplingConfig } from './config';
import { SamplingProcessor } from './processor';

export const samplingProcessorFactory: ProcessorFactory<SamplingConfig> = {
  kind: 'processor',
  type: 'sampling',
  // Logs only: metrics stay complete, so config validation refuses sampling in a metrics pipeline.
  signals: ['logs'],
  schema: samplingSchema,
  validate: validateSamplingConfig,
  // Receivers may evaluate this predicate in the kernel first (CreateSettings.logsSampling).
  logsEffect: { kind: 'samples', predicate: (config) => config },
  create<S extends Signal>(settings: CreateSettings, config: SamplingConfig, signal: S, next: Consumer<S>): Processor<S> {
    if (signal !== 'logs') throw new ConfigError(`processors.${settings.id.text}`, 'sampling applies to logs pipelines only: metrics are never sampled');
    // S is 'logs' here; TypeScript cannot narrow a generic parameter from the check above.
    return new SamplingProcessor(config, next as Consumer<'logs'>) as unknown as Processor<S>;
  },
};
