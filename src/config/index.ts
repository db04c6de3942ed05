// Public entry point of config loading and validation.
export { loadConfigFile, parseConfigText } from './load';
export { validateConfig } from './validate';
export { substituteEnv, type Environment } from './env';
export type {
  ConfigDocument,
  PipelineId,
  PipelineSpec,
  TelemetrySettings,
  ValidatedComponent,
  ValidatedConfig,
} from './types';
