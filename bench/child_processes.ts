// Every child process the benchmark starts, so that none outlives it: killed on normal exit, on
// an uncaught error and on SIGINT/SIGTERM/SIGHUP (a leftover agent would keep its BPF programs
// attached and skew whatever runs next).
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';

const running = new Set<ChildProcess>();
const exitHooks: (() => void)[] = [];
let installed = false;

/** Spawns and tracks a child; it is SIGKILLed if still running when this process exits. */
export function spawnTracked(command: string, args: readonly string[], options: SpawnOptions): ChildProcess {
  installHandlers();
  const child = spawn(command, args, options);
  running.add(child);
  child.once('exit', () => running.delete(child));
  child.once('error', () => running.delete(child));
  return child;
}

/** Runs `hook` synchronously when this process exits, however it exits (cleanup of temp files). */
export function onExit(hook: () => void): void {
  installHandlers();
  exitHooks.push(hook);
}

export function killAllChildren(): void {
  for (const child of running) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  running.clear();
}

function installHandlers(): void {
  if (installed) return;
  installed = true;
  process.on('exit', () => {
    killAllChildren();
    for (const hook of exitHooks.splice(0)) {
      try {
        hook();
      } catch (error) {
        process.stderr.write(`bench: cleanup failed: ${error instanceof Error ? error.message : String(error)}\n`);
      }
    }
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      process.stderr.write(`bench: received ${signal}; stopping children and cleaning up\n`);
      // process.exit runs the 'exit' handler above.
      process.exit(128 + (signal === 'SIGINT' ? 2 : signal === 'SIGTERM' ? 15 : 1));
    });
  }
}
