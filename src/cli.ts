// The `tcpscope` command: `run`, `validate` and `capture`, signals, and exit codes
// (0 ok, 1 failure, 2 invalid config: scripts and init systems can tell a typo from a crash).
import type { EventEmitter } from 'node:events';
import { join, resolve } from 'node:path';
import { Command } from 'commander';
import { describeError, onHangup, runAgent, type RunningAgent, type RunOptions } from './agent';
import { checkBeforeStart } from './bridge/preflight';
import { defaultRegistry } from './components';
import { loadConfigFile, MAX_CONFIG_BYTES, validateConfig, type Environment } from './config';
import { ConfigError, TcpscopeError } from './errors';
import { describePipelines, type FactoryRegistry } from './pipeline';
import { captureCommand } from './receivers/packet_capture/control/capture_cli';
import { VERSION } from './version';

/** config/tcpscope.yaml of the package (this file runs as dist/src/cli.js). */
export const DEFAULT_CONFIG_PATH = join(__dirname, '..', '..', 'config', 'tcpscope.yaml');

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_CONFIG_INVALID = 2;

const STOP_SIGNALS = ['SIGINT', 'SIGTERM'] as const;

const EXAMPLES = `
Examples:
  $ sudo tcpscope run --config /etc/tcpscope/tcpscope.yaml
  $ tcpscope validate --config config/tcpscope.yaml
  $ sudo tcpscope capture start --pod shop/checkout-7d4b9c-x2x9z --packets 1000   (see tcpscope capture --help)

Config values may use \${env:VAR} and \${env:VAR:-default}; a config file is at most ${MAX_CONFIG_BYTES / 1024 / 1024} MiB.
Exit codes: 0 ok, 1 failure, 2 invalid config.`;

/** Entry point of bin/tcpscope.js. Sets the exit code; never throws. */
export async function main(argv: readonly string[]): Promise<void> {
  const program = new Command()
    .name('tcpscope')
    .description('eBPF TCP telemetry agent: watches every TCP connection on this host and exports OpenTelemetry metrics and logs.')
    .version(VERSION)
    .showHelpAfterError()
    .addHelpText('after', EXAMPLES);

  program
    .command('run')
    .description('start the agent and run until SIGINT or SIGTERM')
    .option('-c, --config <file>', 'config file', DEFAULT_CONFIG_PATH)
    .allowExcessArguments(false)
    .action(async (options: { config: string }) => {
      // Every shipped receiver loads eBPF programs: their kernel requirements are checked first.
      await exitWith(await runCommand({ configPath: options.config, preflight: checkBeforeStart }));
    });

  program
    .command('validate')
    .description('check a config file with every check run makes, without starting anything, and print its pipelines')
    .option('-c, --config <file>', 'config file', DEFAULT_CONFIG_PATH)
    .allowExcessArguments(false)
    .action(async (options: { config: string }) => {
      await exitWith(validateCommand(options.config));
    });

  // Against a running agent: start, list and stop packet captures through its control socket.
  program.addCommand(captureCommand(exitWith));

  try {
    await program.parseAsync([...argv]);
  } catch (error) {
    await exitWith(reportError(error));
  }
}

/** `config OK: <file>` and one indented line per pipeline; throws ConfigError when invalid. */
export function checkConfig(
  file: string,
  registry: FactoryRegistry = defaultRegistry(),
  env: Environment = process.env,
): string[] {
  const path = resolve(file);
  const config = validateConfig(loadConfigFile(path, env), registry);
  return [`config OK: ${path}`, ...describePipelines(config).map((line) => `  ${line}`)];
}

function validateCommand(file: string): number {
  try {
    process.stdout.write(checkConfig(file).join('\n') + '\n');
    return EXIT_OK;
  } catch (error) {
    return reportError(error);
  }
}

async function runCommand(options: RunOptions): Promise<number> {
  try {
    return await runUntilStopped(options);
  } catch (error) {
    return reportError(error);
  }
}

/**
 * Runs the agent until a stop signal or a fatal error and resolves with the exit code. The first
 * SIGINT/SIGTERM shuts down gracefully (exporters flush; runAgent's timeout bounds it); a second
 * one exits at once with 1, for the operator who does not want to wait. Start-up errors are thrown.
 */
export async function runUntilStopped(
  options: RunOptions,
  signals: EventEmitter = process,
  forceExit: (code: number) => void = (code) => process.exit(code),
): Promise<number> {
  let agent: RunningAgent | undefined;
  let received: string | undefined;
  const onSignal = (signal: string) => {
    if (received !== undefined) {
      const message = `received ${signal} again; exiting without waiting for shutdown`;
      if (agent) agent.logger.error(message);
      else process.stderr.write(`tcpscope: ${message}\n`);
      forceExit(EXIT_FAILURE);
      return;
    }
    received = signal;
    void agent?.stop(`received ${signal}`);
  };
  const onHangupSignal = (signal: string) => onHangup(agent, signal);
  for (const signal of STOP_SIGNALS) signals.on(signal, onSignal);
  signals.on('SIGHUP', onHangupSignal);
  try {
    agent = await runAgent(options);
    // A signal that arrived while components were starting is honoured now that they have.
    if (received !== undefined) void agent.stop(`received ${received} during start-up`);
    return await agent.stopped;
  } finally {
    for (const signal of STOP_SIGNALS) signals.off(signal, onSignal);
    signals.off('SIGHUP', onHangupSignal);
  }
}

/** Prints `tcpscope: CODE: message` on stderr and returns the exit code for the error. */
function reportError(error: unknown): number {
  process.stderr.write(`tcpscope: ${describeError(error)}\n`);
  if (error instanceof ConfigError) return EXIT_CONFIG_INVALID;
  if (!(error instanceof TcpscopeError) && error instanceof Error && error.stack) {
    // Not one of ours: a bug, so the stack is worth having.
    process.stderr.write(`${error.stack}\n`);
  }
  return EXIT_FAILURE;
}

/**
 * Exits once stdout and stderr have drained: the debug exporter's last lines must not be cut
 * off, and a component that leaks a handle must not keep a stopped agent alive.
 */
function exitWith(code: number): Promise<void> {
  process.exitCode = code;
  return new Promise<void>(() => {
    // A reader that never reads must not keep a stopped agent alive: the drain wait is bounded.
    setTimeout(() => process.exit(code), STDIO_DRAIN_LIMIT_MS);
    process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
  });
}

const STDIO_DRAIN_LIMIT_MS = 2_000;
