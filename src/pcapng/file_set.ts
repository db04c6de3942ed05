// A capture's pcapng output: one section per file, files rotated at max_file_bytes, each new file
// starting with the section header and every interface described so far (interface ids stay the
// same across the files of one capture), and the capture directory bounded to max_files files.
import { closeSync, mkdirSync, openSync, readdirSync, statSync, unlinkSync, writeSync, writevSync } from 'node:fs';
import { join } from 'node:path';
import { enhancedPacketBlock, interfaceDescriptionBlock, sectionHeaderBlock, type EnhancedPacket, type InterfaceDescription, type SectionHeader } from './blocks';

/** Names of the files the agent writes (and may delete when the directory is over its bound). */
export const CAPTURE_FILE_PATTERN = /^tcpscope-.*\.pcapng$/;

export interface FileSetOptions {
  readonly directory: string;
  /** File name stem, `tcpscope-<stem>-<n>.pcapng`. */
  readonly stem: string;
  /** A file is closed and the next one opened once it reaches this size. */
  readonly maxFileBytes: number;
  /** pcapng files kept in the directory, this set's included; the oldest are deleted. */
  readonly maxFiles: number;
  readonly header: SectionHeader;
}

export class PcapngFileSet {
  private fd: number | undefined;
  private fileBytes = 0;
  /** Blocks not yet written: a batch of packets goes out in one writev (flush()). */
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private readonly interfaces: Buffer[] = [];
  private readonly written: string[] = [];
  /** Files this set deleted itself to keep maxFiles (its own oldest). */
  private closed = false;

  constructor(private readonly options: FileSetOptions) {
    mkdirSync(options.directory, { recursive: true, mode: 0o750 });
  }

  /** Absolute paths of the files written, oldest first. */
  get files(): readonly string[] {
    return this.written;
  }

  /** Adds an interface; returns its id (in every file of the set). */
  addInterface(description: InterfaceDescription): number {
    const idb = interfaceDescriptionBlock(description);
    this.interfaces.push(idb);
    if (this.fd !== undefined) this.write(idb);
    return this.interfaces.length - 1;
  }

  writePacket(packet: EnhancedPacket): void {
    const epb = enhancedPacketBlock(packet);
    if (this.fd === undefined || (this.fileBytes > 0 && this.fileBytes + epb.length > this.options.maxFileBytes)) this.rotate();
    this.write(epb);
  }

  /** Opens the first file even when no packet came, so every capture leaves a readable file. */
  ensureFile(): void {
    if (this.fd === undefined) this.rotate();
  }

  /** Writes what is pending (the writer calls it after each batch of packets, and close() does). */
  flush(): void {
    if (this.fd === undefined || this.pending.length === 0) return;
    const blocks = this.pending;
    const total = this.pendingBytes;
    this.pending = [];
    this.pendingBytes = 0;
    let written = writevSync(this.fd, blocks);
    // A short write (rare: a full disk returns an error instead) continues from where it stopped.
    if (written < total) {
      const all = Buffer.concat(blocks);
      while (written < total) written += writeSync(this.fd, all, written, total - written);
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.flush();
    } finally {
      if (this.fd !== undefined) closeSync(this.fd);
      this.fd = undefined;
    }
  }

  private rotate(): void {
    if (this.closed) throw new Error('pcapng file set is closed');
    this.flush();
    if (this.fd !== undefined) closeSync(this.fd);
    const path = join(this.options.directory, `tcpscope-${this.options.stem}-${this.written.length + 1}.pcapng`);
    this.fd = openSync(path, 'w', 0o640);
    this.fileBytes = 0;
    this.written.push(path);
    this.write(sectionHeaderBlock(this.options.header));
    for (const idb of this.interfaces) this.write(idb);
    pruneCaptureDirectory(this.options.directory, this.options.maxFiles, new Set([path]));
  }

  private write(bytes: Buffer): void {
    if (this.fd === undefined) throw new Error('no pcapng file open');
    this.pending.push(bytes);
    this.pendingBytes += bytes.length;
    this.fileBytes += bytes.length;
    // Bounded memory: a long batch is written in pieces.
    if (this.pendingBytes >= 1 << 20 || this.pending.length >= 1024) this.flush();
  }
}

/** Deletes the oldest tcpscope pcapng files of `directory` beyond `maxFiles`, never those in `keep`. */
export function pruneCaptureDirectory(directory: string, maxFiles: number, keep: ReadonlySet<string>): string[] {
  const files = readdirSync(directory)
    .filter((name) => CAPTURE_FILE_PATTERN.test(name))
    .map((name) => {
      const path = join(directory, name);
      try {
        return { path, mtime: statSync(path).mtimeMs };
      } catch {
        return undefined;
      }
    })
    .filter((f): f is { path: string; mtime: number } => f !== undefined)
    .sort((a, b) => a.mtime - b.mtime || a.path.localeCompare(b.path));
  const removed: string[] = [];
  for (const file of files) {
    if (files.length - removed.length <= maxFiles) break;
    if (keep.has(file.path)) continue;
    try {
      unlinkSync(file.path);
      removed.push(file.path);
    } catch {
      // Gone already (another capture pruned it): nothing to do.
    }
  }
  return removed;
}
