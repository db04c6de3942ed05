// The real agent process (`bin/tcpscope run`) in end-to-end tests: its config written from an
// object (one YAML writer instead of hand-indented text in every test), started as a child that
// the test kills on cleanup, and stopped with SIGTERM the way an operator stops it.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { stringify } from 'yaml';
import { PACKAGE_ROOT } from '../../src/paths';
import { DEADLINE_MS, startChild, waitUntil, type RunningChild } from './child';

export const TCPSCOPE = join(PACKAGE_ROOT, 'bin', 'tcpscope');

/** A value in a config file; null is a component with every setting at its default. */
export type ConfigValue = string | number | boolean | null | readonly ConfigValue[] | { readonly [key: string]: ConfigValue };

export type Signal = 'metrics' | 'logs';

export interface PipelineConfig {
  readonly receivers: readonly string[];
  readonly processors?: readonly string[];
  readonly exporters: readonly string[];
}

/** What a test's tcpscope.yaml holds. Values are written as given: `${env:X}` references too. */
export interface AgentConfig {
  readonly receivers: { readonly [id: string]: ConfigValue };
  readonly processors?: { readonly [id: string]: ConfigValue };
  readonly exporters: { readonly [id: string]: ConfigValue };
  /** Pipelines by id (`logs`, `logs/plain`, ...). */
  readonly pipelines: { readonly [id: string]: PipelineConfig };
  /** service.telemetry, when the test sets any of it. */
  readonly telemetry?: { readonly [key: string]: ConfigValue };
}

/** One pipeline per signal named, each with the same receivers and exporters. */
export function pipelinesFor(signals: readonly Signal[], receivers: readonly string[], exporters: readonly string[]): Record<string, PipelineConfig> {
  return Object.fromEntries(signals.map((signal) => [signal, { receivers, exporters }]));
}

/** The YAML text of `config`. */
export function agentConfigYaml(config: AgentConfig): string {
  const { pipelines, telemetry, ...components } = config;
  return stringify({ ...components, service: telemetry === undefined ? { pipelines } : { pipelines, telemetry } });
}

/** Writes `config` as `<dir>/tcpscope.yaml` and returns that path. */
export function writeAgentConfig(dir: string, config: AgentConfig): string {
  const path = join(dir, 'tcpscope.yaml');
  writeFileSync(path, agentConfigYaml(config));
  return path;
}

/** A fresh directory under the system's temp dir, removed when the test ends. */
export function testDir(t: TestContext, prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `${prefix}-`));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** The command line of `tcpscope run --config <config>`. */
export function agentArgv(config: string): string[] {
  return [TCPSCOPE, 'run', '--config', config];
}

export interface StartAgentOptions {
  /** What the agent's stderr says once it is ready (the test waits for it). */
  readonly ready: (stderr: string) => boolean;
  /** What the wait is for, for the timeout's message. */
  readonly what: string;
  readonly timeoutMs?: number;
  readonly env?: NodeJS.ProcessEnv;
}

/**
 * Starts `argv` (by default an agent: see agentArgv), adds it to `children` (killed on cleanup)
 * and waits until its stderr says it is ready; an agent that exits instead fails the test with
 * its stderr.
 */
export async function startAgent(children: RunningChild[], argv: readonly string[], options: StartAgentOptions): Promise<RunningChild> {
  const agent = startChild(argv, options.env);
  children.push(agent);
  await waitUntil(() => options.ready(agent.stderr()) || agent.process.exitCode !== null, options.timeoutMs ?? DEADLINE_MS, options.what);
  assert.equal(agent.process.exitCode, null, `the agent exited before ${options.what}: ${agent.stderr()}`);
  return agent;
}

/** SIGTERM, then the agent must exit 0 within `timeoutMs`. */
export async function stopAgent(agent: RunningChild, timeoutMs = DEADLINE_MS): Promise<void> {
  agent.process.kill('SIGTERM');
  assert.equal(await agent.exited(timeoutMs), 0, `agent exits 0 after SIGTERM: ${agent.stderr()}`);
}
