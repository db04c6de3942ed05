// Public entry point of config loading and validation.
export { loadConfigFile, MAX_ALIAS_EXPANSIONS, MAX_CONFIG_BYTES, parseConfigText } from './load';
export { validateConfig } from './validate';
export { substituteEnv, type Environment } from './env';
export type {
  ConfigDocument,
  HostSettings,
  PipelineId,
  PipelineSpec,
  TelemetrySettings,
  ValidatedComponent,
  ValidatedConfig,
} from './types';
