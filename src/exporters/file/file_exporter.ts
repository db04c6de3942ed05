// Appends one OTLP/JSON export request per line to a file, the format of the Collector's file
// exporter (and what its otlpjsonfile receiver reads back).
//
// The file stays valid JSONL whatever happens to a write: a write that fails part-way (ENOSPC
// on a full disk, EDQUOT, EIO) can leave a partial line behind, and the next append would be
// glued to it. The file is opened O_APPEND and only this exporter appends, so the bytes a failed
// write got into the file are its last ones: the exporter counts them (write(2) reports a partial
// write, the next call the error) and, when the write fails, cuts that many bytes off the file's
// end as it is then; the lines of that write are dropped and counted. No size is taken before a
// write (an fstat per write was 7.5% of the main thread's time under the event stream), and a
// truncation by someone else meanwhile (logrotate copytruncate) needs no special case: the end is
// read when the tail is cut, never remembered from before.
import { open, type FileHandle } from 'node:fs/promises';
import type { Consumer, Consumers, CreateSettings, Exporter, Host, Signal, SignalData } from '../../component';
import { ExportError } from '../../errors';
import type { AgentLogger } from '../../logger';
import type { DropCounting, DroppedItems } from '../dropped_items';
import { itemCount } from '../signal_counts';
import type { FileExporterSettings } from './config';
import { JsonByteWriter } from '../../telemetry/json_byte_writer';
import { appendLogsRequest, encodeMetricsRequest } from './otlp_json';
import { makeParentDirectory } from './parent_directory';

/**
 * Past this many buffered bytes a consume() waits for a write, so memory stays bounded between ticks.
 * Each write costs the agent 40-50 us of CPU whatever its size (FileHandle.write goes through
 * libuv's thread pool: two cross-thread wake-ups, expensive in a VM; writeSync of the same 256 KiB
 * costs 2 us), so larger writes save CPU: 1 MiB took the user-space event path from 2.90 to 2.64
 * us per event (`node dist/bench/event_path.js --rounds 3 --paths raw --semi 8 --rate 60000
 * --events 600000 --k8s --baseline <main>`), 512 KiB most of that. But the whole agent's peak RSS
 * in events mode rose with it, past the 80 MB target (`node dist/bench/run.js --modes off,events
 * --rounds 2`, twice each: 78.3-78.4 MB at 256 KiB, 80.2-81.4 at 512 KiB, 81.7-82.0 at 1 MiB: the
 * two alternating buffers grow by doubling), so 256 KiB stays.
 */
export const MAX_BUFFERED_BYTES = 256 * 1024;

/**
 * A buffer that grew past this (one huge request) is not kept for reuse once written: the next
 * one starts small again, so one burst does not hold its memory for the agent's lifetime. Not tied
 * to MAX_BUFFERED_BYTES: while a write is in flight the pending buffer takes every batch the ring
 * hands over (up to the event pump's batches in flight, ~1 MB of lines at full churn), and a
 * buffer dropped and regrown by doubling at every such stall was a 1-2 MiB allocation per write
 * waiting for a GC to free it (measured: +10-50 MB peak RSS with 256 KiB * 4 as the bound).
 */
const MAX_KEPT_CAPACITY = 4 * 1024 * 1024;
const INITIAL_CAPACITY = 64 * 1024;
const NEWLINE = 0x0a;
const DONE: Promise<void> = Promise.resolve();

/** Lines encoded but not yet written: their bytes, and how many items each signal has in them. */
interface Pending {
  readonly writer: JsonByteWriter;
  readonly items: Record<Signal, number>;
  lines: number;
}

function emptyPending(writer = new JsonByteWriter(INITIAL_CAPACITY)): Pending {
  writer.reset();
  return { writer, items: { metrics: 0, logs: 0 }, lines: 0 };
}

type State = 'created' | 'started' | 'stopped';

export class FileExporter implements Exporter, DropCounting {
  readonly consumers: Consumers;
  private readonly logger: AgentLogger;
  private state: State = 'created';
  private handle: FileHandle | undefined;
  private timer: NodeJS.Timeout | undefined;
  // Lines are encoded straight into the pending buffer's bytes. A write hands that buffer over and
  // takes the spare (the one written before, once its write completed), so two buffers serve for
  // the agent's lifetime instead of one allocation per write.
  private pending: Pending = emptyPending();
  private spare: JsonByteWriter | undefined;
  // Writes are chained so lines reach the file in consume() order even when a timer tick, a
  // full buffer and forceFlush() overlap.
  private writes: Promise<void> = Promise.resolve();
  private failing = false;
  private shutdownDone: Promise<void> | undefined;
  private readonly dropped: Record<Signal, number> = { metrics: 0, logs: 0 };
  /** Bytes of a failed write at the file's end, while they could not be cut off yet; nothing is appended until they are. */
  private partialTail = 0;
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

  // Not async: the batch is encoded synchronously and must not stay reachable while a full buffer's
  // write is awaited (a suspended async frame would keep `data`, its records and the ring bytes
  // behind them alive across young collections, to be promoted as garbage).
  private append<S extends Signal>(signal: S, data: SignalData[S]): Promise<void> {
    try {
      return this.encode(signal, data) ? this.flush() : DONE;
    } catch (error) {
      return Promise.reject(error as Error);
    }
  }

  /** Encodes one request line into the pending buffer; true when the buffer is due for a write. */
  private encode<S extends Signal>(signal: S, data: SignalData[S]): boolean {
    if (this.state === 'stopped') throw new ExportError(`file exporter for ${this.config.path} is shut down`);
    const items = itemCount(signal, data);
    if (items === 0) return false;
    const writer = this.pending.writer;
    const start = writer.length;
    try {
      if (signal === 'metrics') writer.utf8(encodeMetricsRequest(data as SignalData['metrics']));
      else appendLogsRequest(writer, data as SignalData['logs']);
    } catch (cause) {
      writer.truncate(start);
      this.dropped[signal] += items;
      throw new ExportError(`cannot encode ${signal} as OTLP/JSON: ${(cause as Error).message}`, { cause });
    }
    writer.byte(NEWLINE);
    this.pending.items[signal] += items;
    this.pending.lines++;
    return writer.length >= MAX_BUFFERED_BYTES && this.state === 'started';
  }

  private flush(): Promise<void> {
    const next = this.writes.then(() => this.writeBuffered());
    // Keep the chain alive after a failure; the caller of this flush still sees the error.
    this.writes = next.catch(() => undefined);
    return next;
  }

  private async writeBuffered(): Promise<void> {
    const handle = this.handle;
    if (!handle) return;
    const lines = this.pending;
    if (lines.lines === 0) return;
    this.pending = emptyPending(this.spare);
    this.spare = undefined;
    try {
      await this.writeLines(handle, lines);
    } finally {
      if (lines.writer.buf.length <= MAX_KEPT_CAPACITY) this.spare = lines.writer;
    }
  }

  private async writeLines(handle: FileHandle, lines: Pending): Promise<void> {
    const chunk = lines.writer.buf.subarray(0, lines.writer.length);
    let written = 0;
    try {
      if (this.partialTail > 0) await this.repair(handle);
      // write(2) may take part of the chunk (a disk filling up); the next call then fails.
      while (written < chunk.length) {
        const { bytesWritten } = await handle.write(chunk, written, chunk.length - written);
        written += bytesWritten;
      }
    } catch (cause) {
      // Keeping failed lines would grow without bound while the disk stays full; count them.
      this.dropped.metrics += lines.items.metrics;
      this.dropped.logs += lines.items.logs;
      if (this.regularFile && written > 0) {
        this.partialTail = written;
        await this.repair(handle).catch(() => undefined);
      }
      throw new ExportError(
        `cannot append ${lines.lines} lines to ${this.config.path}: ${(cause as Error).message}; they were dropped`,
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
    // Never below 0: a file truncated meanwhile (copytruncate) took the tail with it.
    await handle.truncate(Math.max(0, size - this.partialTail));
    this.partialTail = 0;
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
      this.dropped.metrics += this.pending.items.metrics;
      this.dropped.logs += this.pending.items.logs;
      this.pending = emptyPending();
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
