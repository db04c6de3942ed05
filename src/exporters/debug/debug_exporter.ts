// Prints what passes through a pipeline on stdout, like the Collector's debug exporter. The
// agent's own log goes to stderr (src/logger.ts), so stdout carries only this data.
//
// stdout is someone else's: a terminal, a pager, `| head -3`, a reader that stopped reading. The
// agent must outlive all of them, so this exporter never waits for stdout:
// - when more than MAX_PENDING_BYTES wait to be written (the reader is not keeping up), an export
//   is dropped and counted instead of queued or awaited, so memory stays bounded, no 'drain'
//   listeners accumulate, and shutdown never hangs on a blocked pipe;
// - when the reader is gone (EPIPE, or any other write error), printing stops for good: the
//   exporter counts every later export as dropped, logs that once, and the agent keeps running
//   (other exporters keep exporting; stop it with SIGINT/SIGTERM as usual).
import type { Consumer, Consumers, CreateSettings, Exporter, Host, Signal, SignalData } from '../../component';
import { ExportError } from '../../errors';
import type { AgentLogger } from '../../logger';
import type { DropCounting, DroppedItems } from '../dropped_items';
import { itemCount } from '../signal_counts';
import type { DebugExporterConfig, Verbosity } from './config';
import { detailedLogLines, detailedMetricLines } from './detailed';
import { normalLogLines, normalMetricLines } from './normal';
import { logsSummary, metricsSummary } from './summary';

/** Where the text goes: process.stdout in the agent, a capturing stream in tests. */
export type TextOutput = Pick<NodeJS.WritableStream, 'write' | 'on'> & { readonly writableLength?: number };

/** Bytes that may wait in stdout's buffer before exports are dropped instead of written. */
export const MAX_PENDING_BYTES = 1 << 20;

export class DebugExporter implements Exporter, DropCounting {
  readonly consumers: Consumers;
  private readonly verbosity: Verbosity;
  private readonly logger: AgentLogger;
  private stopped = false;
  /** The write error that ended printing (the reader closed the pipe), once there was one. */
  private outputGone: string | undefined;
  private slowReported = false;
  private readonly dropped: Record<Signal, number> = { metrics: 0, logs: 0 };

  constructor(
    settings: CreateSettings,
    config: DebugExporterConfig,
    signals: readonly Signal[],
    private readonly output: TextOutput = process.stdout,
  ) {
    this.verbosity = config.verbosity;
    this.logger = settings.logger;
    const consumers: { -readonly [S in Signal]?: Consumer<S> } = {};
    if (signals.includes('metrics')) consumers.metrics = { consume: (data) => this.print('metrics', data) };
    if (signals.includes('logs')) consumers.logs = { consume: (data) => this.print('logs', data) };
    this.consumers = consumers;
    // A stream without an 'error' listener throws its errors (EPIPE) at the process and kills it.
    this.output.on('error', (error: NodeJS.ErrnoException) => this.gone(error));
  }

  async start(_host: Host): Promise<void> {}

  async forceFlush(): Promise<void> {}

  async shutdown(): Promise<void> {
    this.stopped = true;
  }

  droppedItems(): DroppedItems {
    return { ...this.dropped };
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
    const items = itemCount(signal, data);
    if (this.outputGone !== undefined) {
      this.dropped[signal] += items;
      return;
    }
    if ((this.output.writableLength ?? 0) > MAX_PENDING_BYTES) {
      this.dropped[signal] += items;
      if (!this.slowReported) {
        this.slowReported = true;
        this.logger.warn(
          `stdout is not being read fast enough (over ${MAX_PENDING_BYTES} bytes waiting); dropping exports until it catches up (counted in tcpscope.exporter.dropped_items); use verbosity: basic or the file exporter for volume`,
        );
      }
      return;
    }
    this.slowReported = false;
    // One write per export keeps an export's lines together when several pipelines print at once.
    this.output.write(this.render(signal, data), (error?: Error | null) => {
      // Written nowhere: the reader went away while this export waited in the buffer.
      if (error) this.dropped[signal] += items;
    });
  }

  private gone(error: NodeJS.ErrnoException): void {
    if (this.outputGone !== undefined) return;
    this.outputGone = error.code ?? error.message;
    const why = error.code === 'EPIPE' ? 'its reader closed the pipe (EPIPE)' : `writing failed (${error.code ?? error.message})`;
    this.logger.warn(
      `stdout is gone: ${why}; the debug exporter stops printing and counts what it drops in tcpscope.exporter.dropped_items; the agent keeps running (stop it with SIGTERM or SIGINT)`,
    );
  }
}
