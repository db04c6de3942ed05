// What does tcp_lifecycle's kernel side cost a churning host, apart from the agent process?
// Connection churn (bench/churn_load.ts, in a child process) with no program, with empty programs
// on the receiver's metrics-mode hooks (the floor of the attachments), and with the receiver's
// own programs in metrics mode (TcpLifecycleReceiver in this process, which sits idle: its
// collection interval is an hour), in alternating rounds whose order rotates each round.
// Reported per variant: connections/s (median, mean, and the mean ratio to the off rounds next to
// each round, which cancels the machine's slow drift), and the machine's busy CPU per connection
// from /proc/stat split into user, system and irq+softirq.
//
// Variants: off | empty | metrics[:<max_connections>] (default 131072, the receiver's default) |
// agent (the whole agent, bin/tcpscope, on the benchmark's metrics-only config: what the agent
// process adds to the same programs).
//
// Run as root after `npm run build`:
//   node dist/bench/lifecycle_hooks.js [--rounds 5] [--seconds 5] [--variants off,empty,metrics,metrics:8192]
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BpfObject } from '../src/bridge/bpf_object';
import { createLogger } from '../src/logger';
import { PACKAGE_ROOT } from '../src/paths';
import { validateComponentSettings } from '../src/config/component_settings';
import { DEFAULT_MAX_CONNECTIONS, tcpLifecycleSchema, type TcpLifecycleConfig } from '../src/receivers/tcp_lifecycle/config';
import { TcpLifecycleReceiver } from '../src/receivers/tcp_lifecycle/receiver';
import { agentResource } from '../src/resource';
import { DEFAULT_CHURN_OPTIONS, numberArg, parseArgs } from './churn_load';
import { AGENT_ATTACH_TIMEOUT_MS, AGENT_SETTLE_MS, AGENT_STOP_TIMEOUT_MS, AgentProcess, sleep } from './agent_process';
import { compileBpf } from './bpf_compile';
import { runLoad } from './loads';
import { agentConfig } from './modes';
import { clockTicksPerSecond, machineCpuTicks } from './proc_stats';
import { median } from './report';

interface Variant {
  readonly name: string;
  readonly kind: 'off' | 'empty' | 'metrics' | 'agent';
  readonly maxConnections: number;
}

function parseVariant(text: string): Variant {
  if (text === 'off' || text === 'empty' || text === 'agent') return { name: text, kind: text, maxConnections: 0 };
  const [kind, size, ...rest] = text.split(':');
  const maxConnections = size === undefined ? DEFAULT_MAX_CONNECTIONS : Number(size);
  if (kind !== 'metrics' || rest.length > 0 || !Number.isInteger(maxConnections) || maxConnections < 1024) {
    throw new Error(`unknown variant "${text}": expected off, empty, agent or metrics[:<max_connections from 1024>]`);
  }
  return { name: text, kind: 'metrics', maxConnections };
}

async function withVariant<T>(variant: Variant, emptyObject: string, dir: string, work: () => Promise<T>): Promise<T> {
  if (variant.kind === 'off') return work();
  if (variant.kind === 'agent') {
    const config = join(dir, 'agent.yaml');
    writeFileSync(config, agentConfig('metrics', dir));
    const agent = await AgentProcess.start(join(PACKAGE_ROOT, 'bin', 'tcpscope'), config, AGENT_ATTACH_TIMEOUT_MS);
    try {
      await sleep(AGENT_SETTLE_MS);
      return await work();
    } finally {
      await agent.stop(AGENT_STOP_TIMEOUT_MS);
    }
  }
  if (variant.kind === 'empty') {
    const bpf = BpfObject.openAndLoad(emptyObject, () => undefined);
    try {
      bpf.attach();
      return await work();
    } finally {
      bpf.close();
    }
  }
  // No logs consumer: the receiver loads as in a metrics-only pipeline (no events, no accept hooks).
  // The receiver's defaults, as the agent would run it, but for the table size and an idle hour between collections.
  const config = validateComponentSettings(tcpLifecycleSchema, { collection_interval: '1h', max_connections: variant.maxConnections }, ['receivers', 'tcp_lifecycle']) as TcpLifecycleConfig;
  const receiver = new TcpLifecycleReceiver(
    { id: { type: 'tcp_lifecycle', text: 'tcp_lifecycle' }, resource: agentResource(), logger: createLogger('warn') },
    config,
    { metrics: { consume: async () => undefined } },
  );
  await receiver.start({ reportFatal: (e) => { throw e; } });
  try {
    return await work();
  } finally {
    await receiver.shutdown();
  }
}

interface Round {
  readonly variant: string;
  readonly rate: number;
  readonly userUs: number;
  readonly systemUs: number;
  readonly irqUs: number;
}

const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2), ['rounds', 'seconds', 'variants']);
  const rounds = numberArg(args, 'rounds', 5);
  const seconds = numberArg(args, 'seconds', 5);
  const variants = (args.get('variants') ?? 'off,empty,metrics').split(',').map(parseVariant);
  if (!variants.some((v) => v.kind === 'off')) throw new Error('--variants must include off: the ratios are to it');
  const dir = mkdtempSync(join(tmpdir(), 'tcpscope-lifecycle-hooks-'));
  const load = { ...DEFAULT_CHURN_OPTIONS, connections: 300_000 };
  const hz = clockTicksPerSecond();
  const order: Round[] = [];
  try {
    const emptyObject = compileBpf(join('bench', 'bpf', 'lifecycle_empty.bpf.c'), join(dir, 'lifecycle_empty.bpf.o'));
    for (let r = 0; r < rounds; r++) {
      for (let i = 0; i < variants.length; i++) {
        const variant = variants[(i + r) % variants.length];
        const round = await withVariant(variant, emptyObject, dir, async () => {
          await runLoad({ kind: 'churn', options: { ...load, seconds: 1 } }); // warm-up, unrecorded
          await sleep(500);
          const before = machineCpuTicks();
          const result = await runLoad({ kind: 'churn', options: { ...load, seconds } });
          const after = machineCpuTicks();
          const us = (ticks: number) => (ticks / hz) * 1e6 / result.completed;
          return {
            variant: variant.name,
            rate: result.rate,
            userUs: us(after.user + after.nice - before.user - before.nice),
            systemUs: us(after.system - before.system),
            irqUs: us(after.irq + after.softirq - before.irq - before.softirq),
          };
        });
        order.push(round);
        process.stderr.write(
          `[round ${r + 1}] ${round.variant}: ${Math.round(round.rate)} connections/s, machine CPU us / conn: user ${round.userUs.toFixed(1)}, system ${round.systemUs.toFixed(1)}, irq+softirq ${round.irqUs.toFixed(1)}\n`,
        );
        await sleep(1000);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  // Each round against the mean of the off rounds next to it in the run (before and after).
  const paired = (index: number): number => {
    const offs = [order.slice(0, index).reverse().find((x) => x.variant === 'off'), order.slice(index + 1).find((x) => x.variant === 'off')].filter((x) => x !== undefined);
    return order[index].rate / mean(offs.map((x) => x!.rate));
  };
  const offRates = order.filter((x) => x.variant === 'off').map((x) => x.rate);
  const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
  process.stdout.write(
    `command: node dist/bench/lifecycle_hooks.js --rounds ${rounds} --seconds ${seconds} --variants ${variants.map((v) => v.name).join(',')}\n\n` +
      '| variant | connections/s median (min-max) | mean | ratio vs off, medians | ratio vs off, means | paired ratio, mean of rounds | machine CPU us / conn: user / system / irq+softirq | total |\n' +
      '|---|---|---|---|---|---|---|---|\n',
  );
  for (const v of variants) {
    const mine = order.map((x, i) => ({ x, i })).filter(({ x }) => x.variant === v.name);
    const rates = mine.map(({ x }) => x.rate);
    const [user, system, irq] = [mean(mine.map(({ x }) => x.userUs)), mean(mine.map(({ x }) => x.systemUs)), mean(mine.map(({ x }) => x.irqUs))];
    process.stdout.write(
      `| ${v.name} | ${fmt(median(rates))} (${fmt(Math.min(...rates))}-${fmt(Math.max(...rates))}) | ${fmt(mean(rates))} | ${(median(rates) / median(offRates)).toFixed(3)} | ` +
        `${(mean(rates) / mean(offRates)).toFixed(3)} | ${v.kind === 'off' ? '-' : mean(mine.map(({ i }) => paired(i))).toFixed(3)} | ` +
        `${user.toFixed(1)} / ${system.toFixed(1)} / ${irq.toFixed(1)} | ${(user + system + irq).toFixed(1)} |\n`,
    );
  }
}

main().catch((error: Error) => {
  process.stderr.write(`lifecycle_hooks: ${error.message}\n`);
  process.exit(1);
});
