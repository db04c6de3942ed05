// bench/perf_record.ts with the real perf (root, Debian linux-perf; skipped without them): a
// recording switched on around a child that burns CPU finds the child's samples, classifies every
// sample it read, deletes its data file, and perf is gone afterwards; the exit hook's synchronous
// stop ends a perf still recording.
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { checkPerfAvailable, PerfRecording, stopAllPerfRecordings } from './perf_record';

function perfMissing(): string | false {
  if (process.getuid?.() !== 0) return 'needs root (perf record -a)';
  try {
    checkPerfAvailable();
    return false;
  } catch (error) {
    return (error as Error).message;
  }
}

/** Alive and not a zombie. */
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

const dir = mkdtempSync(join(tmpdir(), 'tcpscope-perf-record-'));
after(() => {
  stopAllPerfRecordings();
  rmSync(dir, { recursive: true, force: true });
});

describe('PerfRecording', { skip: perfMissing() }, () => {
  it('samples a CPU-bound child between enable and disable, then deletes its data', async () => {
    const recording = PerfRecording.start(dir, 999);
    try {
      await recording.enable();
      // A fixed amount of work (a few hundred ms of one core), not a fixed time.
      const child = spawn(process.execPath, ['-e', 'let x = 0; for (let i = 0; i < 3e8; i++) x += i % 7; if (x < 0) console.log(x);'], { stdio: 'ignore' });
      const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
      assert.equal(code, 0);
      await recording.disable();
      await recording.stop();
      assert.equal(running(recording.pid ?? -1), false, 'perf has exited');
      assert.ok(existsSync(recording.dataPath), 'perf wrote its data file');
      const round = await recording.classify({ tracerPid: child.pid, tracerProgramTags: new Set() });
      assert.equal(existsSync(recording.dataPath), false, 'the data file is deleted once read');
      assert.equal(round.unparsed, 0);
      assert.ok(round.samples > 0);
      assert.equal(Object.values(round.counts).reduce((a, b) => a + b, 0), round.samples);
      assert.ok(round.counts.tracerProcess > 0, `the child's samples: ${JSON.stringify(round.counts)}`);
      assert.equal(round.frequencyHz, 999);
    } finally {
      await recording.stop().catch(() => undefined);
    }
  });

  it('is ended by the exit hook\'s synchronous stop (SIGINT, waited for)', async () => {
    const recording = PerfRecording.start(dir, 999);
    await recording.enable();
    const pid = recording.pid ?? -1;
    assert.equal(running(pid), true);
    stopAllPerfRecordings();
    assert.equal(running(pid), false, 'perf has exited when the hook returns');
    await recording.stop(); // reaps it; perf exited on SIGINT, which stop() accepts
  });
});

describe('checkPerfAvailable', () => {
  it('fails with what to install when perf is not on PATH', () => {
    const path = process.env.PATH;
    process.env.PATH = join(dir, 'no-such-bin');
    try {
      assert.throws(() => checkPerfAvailable(), /perf is not installed; install the Debian package linux-perf/);
    } finally {
      process.env.PATH = path;
    }
  });
});
