// Prints what passes through a pipeline on stdout, like the Collector's debug exporter. The
// agent's own log goes to stderr (src/logger.ts), so stdout carries only this data.
import type { Consumer, Consumers, CreateSettings, Exporter, Host, Signal, SignalData } from '../../component';
import { ExportError } from '../../errors';
import type { DebugExporterConfig, Verbosity } from './config';
import { detailedLogLines, detailedMetricLines } from './detailed';
import { normalLogLines, normalMetricLines } from './normal';
import { logsSummary, metricsSummary } from './summary';

/** Where the text goes: process.stdout in the agent, a capturing stream in tests. */
export type TextOutput = Pick<NodeJS.WritableStream, 'write' | 'once'>;

export class DebugExporter implements Exporter {
  readonly consumers: Consumers;
  private readonly verbosity: Verbosity;
  private stopped = false;

  constructor(
    _settings: CreateSettings,
    config: DebugExporterConfig,
    signals: readonly Signal[],
    private readonly output: TextOutput = process.stdout,
  ) {
    this.verbosity = config.verbosity;
    const consumers: { -readonly [S in Signal]?: Consumer<S> } = {};
    if (signals.includes('metrics')) consumers.metrics = { consume: (data) => this.print('metrics', data) };
    if (signals.includes('logs')) consumers.logs = { consume: (data) => this.print('logs', data) };
    this.consumers = consumers;
  }

  async start(_host: Host): Promise<void> {}

  async forceFlush(): Promise<void> {}

  async shutdown(): Promise<void> {
    this.stopped = true;
  }

  /** The text one export prints, every line ending in a newline. */
  private render<S extends Signal>(signal: S, data: SignalData[S]): string {
    const lines =
      signal === 'metrics' ? this.metricLines(data as SignalData['metrics']) : this.logLines(data as SignalData['logs']);
    return lines.map((line) => line + '\n').join('');
  }

  private metricLines(data: SignalData['metrics']): string[] {
    const summary = metricsSummary(data);
    if (this.verbosity === 'basic') return [summary];
    return [summary, ...(this.verbosity === 'normal' ? normalMetricLines(data) : detailedMetricLines(data))];
  }

  private logLines(records: SignalData['logs']): string[] {
    const summary = logsSummary(records);
    if (this.verbosity === 'basic') return [summary];
    return [summary, ...(this.verbosity === 'normal' ? normalLogLines(records) : detailedLogLines(records))];
  }

  private async print<S extends Signal>(signal: S, data: SignalData[S]): Promise<void> {
    if (this.stopped) throw new ExportError('debug exporter is shut down');
    // One write per export keeps an export's lines together when several pipelines print at once;
    // waiting for 'drain' keeps a slow terminal or pipe from buffering without bound.
    if (!this.output.write(this.render(signal, data))) {
      await new Promise<void>((resolve) => this.output.once('drain', resolve));
    }
  }
}
