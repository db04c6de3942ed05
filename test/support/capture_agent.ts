// The real agent process for the capture control tests, with the real packet_capture receiver
// when this build has it (the capture engine) and the stand-in (capture_stand_in.ts) otherwise,
// plus `bin/tcpscope capture ...` run as a person runs it.
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { defaultRegistry } from '../../src/components';
import { agentArgv, TCPSCOPE, type ConfigValue } from './agent';
import { DEADLINE_MS, DIST_ROOT } from './child';

/** Whether this build ships the real capture engine (the packet_capture receiver factory). */
export const REAL_CAPTURE_ENGINE = defaultRegistry().get('receiver', 'packet_capture') !== undefined;

/** The command line of an agent with `config`: bin/tcpscope run, or the stand-in's child. */
export function captureAgentArgv(config: string): string[] {
  return REAL_CAPTURE_ENGINE ? agentArgv(config) : [process.execPath, join(DIST_ROOT, 'test', 'support', 'capture_agent_child.js'), config];
}

export interface CaptureAgentConfig {
  /** Test directory: the socket and the capture files go there. */
  readonly dir: string;
  readonly processors?: { readonly [id: string]: ConfigValue };
  /** service.capture, apart from control.socket (set to <dir>/capture.sock). */
  readonly schedule?: ConfigValue;
}

export interface WrittenCaptureConfig {
  readonly path: string;
  readonly socket: string;
  readonly captureDirectory: string;
}

/** A config with packet_capture (and the processors given) in a logs pipeline to the debug exporter. */
export function writeCaptureAgentConfig(config: CaptureAgentConfig): WrittenCaptureConfig {
  const socket = join(config.dir, 'capture.sock');
  const captureDirectory = join(config.dir, 'captures');
  const processors = config.processors ?? {};
  const doc = {
    receivers: { packet_capture: { directory: captureDirectory } },
    ...(Object.keys(processors).length > 0 ? { processors } : {}),
    exporters: { debug: { verbosity: 'basic' } },
    service: {
      pipelines: { logs: { receivers: ['packet_capture'], ...(Object.keys(processors).length > 0 ? { processors: Object.keys(processors) } : {}), exporters: ['debug'] } },
      capture: { control: { socket }, ...(config.schedule !== undefined ? { schedule: config.schedule } : {}) },
    },
  };
  const path = join(config.dir, 'tcpscope.yaml');
  writeFileSync(path, stringify(doc));
  return { path, socket, captureDirectory };
}

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** `bin/tcpscope <args>`, to its end (bounded by DEADLINE_MS plus what a --wait may take). */
export function runTcpscope(args: readonly string[], env: NodeJS.ProcessEnv = process.env, timeoutMs = DEADLINE_MS): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    execFile(TCPSCOPE, [...args], { env, timeout: timeoutMs, killSignal: 'SIGKILL' }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
      if (code === null) reject(new Error(`tcpscope ${args.join(' ')} did not end within ${timeoutMs} ms (${String(error)}): ${stderr}`));
      else resolve({ code, stdout, stderr });
    });
  });
}

/** `bin/tcpscope capture <args> --socket <socket> --json`, parsed; fails unless it exits 0. */
export async function captureJson<T>(socket: string, args: readonly string[]): Promise<T> {
  const result = await runTcpscope(['capture', ...args, '--socket', socket, '--json']);
  if (result.code !== 0) throw new Error(`tcpscope capture ${args.join(' ')} exited ${result.code}: ${result.stderr}`);
  return JSON.parse(result.stdout) as T;
}
