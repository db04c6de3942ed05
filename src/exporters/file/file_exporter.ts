// Appends one OTLP/JSON export request per line to a file, the format of the Collector's file
// exporter (and what its otlpjsonfile receiver reads back).
//
// The file stays valid JSONL whatever happens to a write: a write that fails part-way (ENOSPC
// on a full disk, EDQUOT, EIO) can leave a partial line behind, and the next append would be
// glued to it. So the exporter takes the file's size before each write (it is at a line end:
// every earlier write completed or was cut back) and truncates back to it when a write fails; the
// lines of that write are dropped and counted. The size is taken afresh each time because someone
// else may have truncated the file meanwhile (logrotate copytruncate).
import { open, type FileHandle } from 'node:fs/promises';
import type { Consumer, Consumers, CreateSettings, Exporter, Host, Signal, SignalData } from '../../component';
import { ExportError } from '../../errors';
import type { AgentLogger } from '../../logger';
import type { DropCounting, DroppedItems } from '../dropped_items';
import { itemCount } from '../signal_counts';
import type { FileExporterSettings } from './config';
import { encodeLogsRequestPieces, encodeMetricsRequest } from './otlp_json';
import { makeParentDirectory } from './parent_directory';

/** Past this many buffered bytes a consume() waits for a write, so memory stays bounded between ticks. */
export const MAX_BUFFERED_BYTES = 1 << 20;

interface BufferedLine {
  /** The line's text in pieces, written one after the other (see encodeLogsRequestPieces). */
  readonly pieces: readonly string[];
  /** UTF-8 bytes of the pieces, without the newline. */
  readonly bytes: number;
  readonly signal: Signal;
  readonly items: number;
}

type State = 'created' | 'started' | 'stopped';

export class FileExporter implements Exporter, DropCounting {
  readonly consumers: Consumers;
  private readonly logger: AgentLogger;
  private state: State = 'created';
  private handle: FileHandle | undefined;
  private timer: NodeJS.Timeout | undefined;
  private buffer: BufferedLine[] = [];
  private bufferedBytes = 0;
  // Writes are chained so lines reach the file in consume() order even when a timer tick, a
  // full buffer and forceFlush() overlap.
  private writes: Promise<void> = Promise.resolve();
  private failing = false;
  private shutdownDone: Promise<void> | undefined;
  private readonly dropped: Record<Signal, number> = { metrics: 0, logs: 0 };
  /** Where a failed write's partial tail starts, while it could not be cut off yet; nothing is appended until it is. */
  private repairTo: number | undefined;
  /** Only a regular file can be truncated; a device or FIFO (/dev/stdout, /dev/null) has no tail to cut. */
  private regularFile = false;

  constructor(
    settings: CreateSettings,
    private readonly config: FileExporterSettings,
    signals: readonly Signal[],
  ) {
    this.logger = settings.logger;
    const consumers: { -readonly [S in Signal]?: Consumer<S> } = {};
    if (signals.includes('metrics')) consumers.metrics = { consume: (data) => this.append('metrics', data) };
    if (signals.includes('logs')) consumers.logs = { consume: (data) => this.append('logs', data) };
    this.consumers = consumers;
  }

  async start(_host: Host): Promise<void> {
    if (this.state !== 'created') return;
    try {
      await makeParentDirectory(this.config.path);
      this.handle = await open(this.config.path, 'a');
      const stats = await this.handle.stat();
      this.regularFile = stats.isFile();
      const lineEnd = this.regularFile ? await this.lastCompleteLineEnd(stats.size) : undefined;
      if (lineEnd !== undefined && stats.size !== lineEnd) {
        // A partial line left by an earlier run (killed mid-write, or a disk that filled up).
        await this.handle.truncate(lineEnd);
        this.logger.warn(`removed a partial last line (${stats.size - lineEnd} bytes) from ${this.config.path}, left by an earlier run`);
      }
    } catch (cause) {
      throw new ExportError(
        `cannot open ${this.config.path} for appending: ${(cause as Error).message}; check the directory exists or can be created and is writable by the agent`,
        { cause },
      );
    }
    this.state = 'started';
    this.timer = setInterval(() => this.flushOnTimer(), this.config.flushIntervalMs);
    // A pending flush tick must not keep the agent alive; shutdown() does the final flush.
    this.timer.unref();
  }

  forceFlush(): Promise<void> {
    return this.flush();
  }

  shutdown(): Promise<void> {
    this.shutdownDone ??= this.stop();
    return this.shutdownDone;
  }

  droppedItems(): DroppedItems {
    return { ...this.dropped };
  }

  private async append<S extends Signal>(signal: S, data: SignalData[S]): Promise<void> {
    if (this.state === 'stopped') throw new ExportError(`file exporter for ${this.config.path} is shut down`);
    const items = itemCount(signal, data);
    if (items === 0) return;
    let pieces: string[];
    try {
      pieces =
        signal === 'metrics'
          ? [encodeMetricsRequest(data as SignalData['metrics'])]
          : encodeLogsRequestPieces(data as SignalData['logs']);
    } catch (cause) {
      this.dropped[signal] += items;
      throw new ExportError(`cannot encode ${signal} as OTLP/JSON: ${(cause as Error).message}`, { cause });
    }
    let bytes = 0;
    for (const piece of pieces) bytes += Buffer.byteLength(piece);
    this.buffer.push({ pieces, bytes, signal, items });
    this.bufferedBytes += bytes + 1;
    if (this.bufferedBytes >= MAX_BUFFERED_BYTES && this.state === 'started') await this.flush();
  }

  private flush(): Promise<void> {
    const next = this.writes.then(() => this.writeBuffered());
    // Keep the chain alive after a failure; the caller of this flush still sees the error.
    this.writes = next.catch(() => undefined);
    return next;
  }

  private async writeBuffered(): Promise<void> {
    const handle = this.handle;
    if (!handle || this.buffer.length === 0) return;
    const lines = this.buffer;
    const chunk = Buffer.allocUnsafe(this.bufferedBytes);
    this.buffer = [];
    this.bufferedBytes = 0;
    // Each piece encoded once, straight into the chunk: joining pieces and lines first would copy
    // every byte twice more, into strings large enough to outlive young-generation collections.
    let at = 0;
    for (const line of lines) {
      for (const piece of line.pieces) at += chunk.write(piece, at, 'utf8');
      chunk[at++] = 0x0a;
    }
    let before: number | undefined;
    try {
      if (this.repairTo !== undefined) await this.repair(handle);
      before = this.regularFile ? (await handle.stat()).size : undefined;
      await handle.appendFile(chunk);
    } catch (cause) {
      // Keeping failed lines would grow without bound while the disk stays full; count them.
      for (const line of lines) this.dropped[line.signal] += line.items;
      if (before !== undefined) {
        this.repairTo = before;
        await this.repair(handle).catch(() => undefined);
      }
      throw new ExportError(
        `cannot append ${lines.length} lines to ${this.config.path}: ${(cause as Error).message}; they were dropped`,
        { cause },
      );
    }
    if (this.failing) {
      this.failing = false;
      this.logger.info(`writing to ${this.config.path} works again`);
    }
  }

  /** Cuts a failed write's partial tail off, so the file ends with a complete line again. */
  private async repair(handle: FileHandle): Promise<void> {
    const { size } = await handle.stat();
    // Never past the current end: truncating up would fill the file with zero bytes.
    await handle.truncate(Math.min(size, this.repairTo ?? size));
    this.repairTo = undefined;
  }

  /**
   * Offset just past the file's last newline (0 when it has none); undefined when the file cannot
   * be read (a write-only file: appending needs no read permission, so then nothing is checked).
   */
  private async lastCompleteLineEnd(size: number): Promise<number | undefined> {
    let reader: FileHandle;
    try {
      reader = await open(this.config.path, 'r');
    } catch {
      return undefined;
    }
    try {
      const window = Buffer.alloc(64 * 1024);
      for (let end = size; end > 0; ) {
        const start = Math.max(0, end - window.length);
        const { bytesRead } = await reader.read(window, 0, end - start, start);
        const at = window.subarray(0, bytesRead).lastIndexOf(0x0a);
        if (at >= 0) return start + at + 1;
        end = start;
      }
      return 0;
    } finally {
      await reader.close();
    }
  }

  private flushOnTimer(): void {
    this.flush().catch((error: unknown) => {
      // One line per failure spell, not per tick: the dropped counter tells how much was lost.
      if (this.failing) return;
      this.failing = true;
      this.logger.error(`${(error as Error).message}; will keep trying every ${this.config.flushIntervalMs}ms`);
    });
  }

  private async stop(): Promise<void> {
    const wasStarted = this.state === 'started';
    this.state = 'stopped';
    if (this.timer) clearInterval(this.timer);
    if (!wasStarted) {
      // Never opened: whatever was consumed cannot be written.
      for (const line of this.buffer) this.dropped[line.signal] += line.items;
      this.buffer = [];
      return;
    }
    try {
      await this.flush();
    } finally {
      await this.handle?.close();
      this.handle = undefined;
    }
  }
}
