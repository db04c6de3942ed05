// The `file` exporter: OTLP/JSON lines in a file, for debugging, tests and air-gapped hosts.
import type { ExporterFactory } from '../../component';
import { fileExporterSchema, resolveFileExporterConfig, validateFileExporterConfig, type FileExporterConfig } from './config';
import { FileExporter } from './file_exporter';

export type { FileExporterConfig } from './config';
export { FileExporter } from './file_exporter';

export const fileExporterFactory: ExporterFactory<FileExporterConfig> = {
  kind: 'exporter',
  type: 'file',
  signals: ['metrics', 'logs'],
  schema: fileExporterSchema,
  validate: validateFileExporterConfig,
  create: (settings, config, signals) => new FileExporter(settings, resolveFileExporterConfig(config), signals),
};
