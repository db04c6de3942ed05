// The agent under test as a child process: `tcpscope run --config <file>`, started and awaited
// until its receiver is attached, measured through /proc while alive, stopped with SIGTERM.
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { spawnTracked } from './child_processes';
import { cpuSeconds } from './proc_stats';

/** The receiver logs `... attached <programs>; signals: ...` once its BPF programs are in place. */
const ATTACHED = /\battached\b/;
const STDERR_KEPT = 16 * 1024;

export class AgentProcess {
  private stderrText = '';
  private readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  private constructor(private readonly child: ChildProcess) {
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      this.stderrText = (this.stderrText + chunk).slice(-STDERR_KEPT);
    });
  }

  /** Starts the agent and resolves once it has attached; rejects (and kills it) otherwise. */
  static async start(agentBin: string, configPath: string, timeoutMs: number): Promise<AgentProcess> {
    // bin/tcpscope is an executable launcher (it sets the agent's heap flags); a .js file runs under node.
    const [command, ...prefix] = agentBin.endsWith('.js') ? [process.execPath, agentBin] : [agentBin];
    const child = spawnTracked(command, [...prefix, 'run', '--config', configPath], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const agent = new AgentProcess(child);
    try {
      await agent.waitForAttached(timeoutMs);
    } catch (error) {
      agent.kill();
      throw error;
    }
    return agent;
  }

  get pid(): number {
    const pid = this.child.pid;
    if (pid === undefined) throw new Error('the agent process has no pid (spawn failed)');
    return pid;
  }

  /** The last lines the agent wrote to stderr, for error reports. */
  stderrTail(lines = 20): string {
    return this.stderrText.trimEnd().split('\n').slice(-lines).join('\n');
  }

  /**
   * Waits until the agent's CPU use falls below `idleFraction` of a core over `windowMs`: after
   * the load it may still be draining the ring buffer and encoding. Resolves with the seconds
   * it took (bounded by `timeoutMs`, after which it resolves anyway).
   */
  waitUntilIdle(windowMs: number, idleFraction: number, timeoutMs: number): Promise<number> {
    return waitUntilIdle(this.pid, windowMs, idleFraction, timeoutMs);
  }

  /** SIGTERM, then waits for a clean exit; SIGKILL and an error if it does not come in time. */
  async stop(timeoutMs: number): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) {
      throw new Error(`the agent exited before it was stopped (code ${this.child.exitCode}):\n${this.stderrTail()}`);
    }
    this.child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)));
    const result = await Promise.race([this.exited, timedOut]);
    clearTimeout(timer);
    if (result === 'timeout') {
      this.kill();
      throw new Error(`the agent did not exit within ${timeoutMs / 1000} s of SIGTERM:\n${this.stderrTail()}`);
    }
    if (result.code !== 0) {
      throw new Error(`the agent exited with ${result.code ?? result.signal} after SIGTERM:\n${this.stderrTail()}`);
    }
  }

  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }

  private waitForAttached(timeoutMs: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const stderr = this.child.stderr;
      if (!stderr) return reject(new Error('no stderr pipe to the agent'));
      const cleanup = () => {
        clearTimeout(timer);
        stderr.off('data', onData);
        this.child.off('exit', onExit);
        this.child.off('error', onError);
      };
      const onData = () => {
        const attachedLine = this.stderrText.split('\n').find((line) => ATTACHED.test(line) && !/\bERROR\b/.test(line));
        if (attachedLine !== undefined) {
          cleanup();
          resolve();
        }
      };
      const onExit = (code: number | null) => {
        cleanup();
        reject(new Error(`the agent exited with ${code} before attaching:\n${this.stderrTail()}`));
      };
      const onError = (error: Error) => {
        cleanup();
        reject(new Error(`cannot start the agent: ${error.message}`));
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`the agent did not log "attached" within ${timeoutMs / 1000} s:\n${this.stderrTail()}`));
      }, timeoutMs);
      stderr.on('data', onData);
      this.child.once('exit', onExit);
      this.child.once('error', onError);
    });
  }
}

/**
 * Waits until process `pid` uses less than `idleFraction` of a core over `windowMs` (after the
 * load it may still be draining and encoding). Resolves with the seconds it took, bounded by
 * `timeoutMs` (after which it resolves anyway).
 */
export async function waitUntilIdle(pid: number, windowMs: number, idleFraction: number, timeoutMs: number): Promise<number> {
  const start = process.hrtime.bigint();
  let before = cpuSeconds(pid);
  for (;;) {
    await sleep(windowMs);
    const now = cpuSeconds(pid);
    const waited = Number(process.hrtime.bigint() - start) / 1e9;
    if (now - before < (idleFraction * windowMs) / 1000 || waited * 1000 >= timeoutMs) return waited;
    before = now;
  }
}

/** How long the agent may take to log "attached", and to exit after SIGTERM. */
export const AGENT_ATTACH_TIMEOUT_MS = 60_000;
export const AGENT_STOP_TIMEOUT_MS = 60_000;
/** After "attached" the agent still logs its banner and arms timers; let that pass before measuring. */
export const AGENT_SETTLE_MS = 500;

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * The V8 flags the launcher (bin/tcpscope) starts node with, from its `exec node ...` line, each
 * `${VAR:-default}` taken as its default (or as $VAR when `env` sets it): a benchmark that runs
 * agent code in its own node process measures it under the agent's heap settings.
 */
export function launcherNodeFlags(launcher: string, env: NodeJS.ProcessEnv = process.env): string[] {
  const text = readFileSync(launcher, 'utf8');
  const exec = text.split('\n').find((line) => /^exec node /.test(line));
  if (exec === undefined) throw new Error(`${launcher}: no "exec node ..." line to take the node flags from`);
  const flags: string[] = [];
  for (const match of exec.matchAll(/(--[\w-]+)(?:=("?)\$\{(\w+):-([^}]*)\}\2|=(\S+))?/g)) {
    const [, name, , variable, fallback, literal] = match;
    if (variable !== undefined) flags.push(`${name}=${env[variable] || fallback}`);
    else flags.push(literal !== undefined ? `${name}=${literal}` : name);
  }
  return flags;
}
