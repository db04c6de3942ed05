// `tcpscope capture start|list|stop`: the CLI against a running agent's control socket.
import { Command, Option } from 'commander';
import { TcpscopeError } from '../../../errors';
import type { CaptureBounds, CaptureSelection } from '../capture_api';
import { CaptureInputProblem, parseCaptureInput, type CaptureInput, type CaptureInputField } from './capture_input';
import type { ControlCaptureStatus } from './capture_starter';
import { ControlClient, DEFAULT_CONTROL_SOCKET } from './control_client';

/** Exit codes: as `tcpscope run` (0 ok, 1 failure), and 2 for flags (or a request) that are wrong. */
export const CAPTURE_EXIT_OK = 0;
export const CAPTURE_EXIT_FAILURE = 1;
export const CAPTURE_EXIT_USAGE = 2;

/** The flag of each input field, for messages. */
const FLAG: Readonly<Record<CaptureInputField, string>> = {
  receiver: '--receiver',
  name: '--name',
  cgroup: '--cgroup',
  pod: '--pod',
  selector: '--selector',
  namespace: '--namespace',
  host: '--host',
  port: '--port',
  tuple: '--tuple',
  bidirectional: '--bidirectional',
  packets: '--packets',
  bytes: '--bytes',
  snaplen: '--snaplen',
  duration: '--duration',
  sample: '--sample',
  rate: '--rate',
};

/** Each long-poll asks the agent to answer within this; the CLI asks again until the capture ends. */
const WAIT_SLICE_MS = 30_000;

const EXAMPLES = `
Examples:
  $ sudo bin/tcpscope capture start --pod shop/checkout-7d4b9c-x2x9z --packets 1000 --duration 1m
  $ sudo bin/tcpscope capture start --selector app=web --namespace shop --port 443 --wait
  $ sudo bin/tcpscope capture start --tuple 198.18.0.1:40000,198.18.0.2:80 --no-bidirectional
  $ sudo bin/tcpscope capture start --cgroup system.slice/nginx.service --snaplen 1500 --sample 10
  $ sudo bin/tcpscope capture list
  $ sudo bin/tcpscope capture stop cap-3

The agent must be running with a packet_capture receiver in its config; it serves these commands
on a root-only unix socket (service.capture.control.socket, default ${DEFAULT_CONTROL_SOCKET}).
Packets are cut after their TCP header unless --snaplen asks for payload.
Exit codes: 0 ok, 1 failure (no agent, no such capture, the capture failed), 2 wrong flags
(or a request the agent refuses as wrong: the message names the flag or field).`;

interface Io {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
}

const stdio: Io = { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) };

/**
 * The `capture` command. `done` receives the exit code of the subcommand that ran (the CLI's
 * exitWith drains stdio and exits with it).
 */
export function captureCommand(done: (code: number) => Promise<void>, io: Io = stdio): Command {
  const capture = new Command('capture')
    .description('start, list and stop packet captures (pcapng) in a running agent')
    .addHelpText('after', EXAMPLES);
  const socket = () => new Option('--socket <path>', 'the agent\'s capture control socket (service.capture.control.socket)').default(DEFAULT_CONTROL_SOCKET).env('TCPSCOPE_CAPTURE_SOCKET');
  const collect = (value: string, previous: string[] | undefined) => [...(previous ?? []), value];

  capture
    .command('start')
    .description('start a capture; prints its id and, with --wait, its final status')
    .addOption(socket())
    .option('--receiver <id>', 'the packet_capture receiver (when the agent runs several)')
    .option('--name <name>', 'a name for the capture (its files and log event carry it)')
    .option('--pod <namespace/name>', 'the pod to capture (needs k8s_attributes with API access in the agent)')
    .option('--selector <label=value,...>', 'pods of this node with all these labels')
    .option('--namespace <namespace>', 'pods of this namespace (with --selector: only those)')
    .option('--cgroup <dir>', 'a cgroup v2 directory, under the cgroup2 mount or as /proc/<pid>/cgroup writes it (repeatable)', collect)
    .option('--host <address>', 'IPv4/IPv6 address of one end: packets from it (and to it, when bidirectional)')
    .option('--port <port>', 'TCP port of that end')
    .option('--tuple <src:port,dst:port>', 'one connection: source and destination, e.g. 198.18.0.1:40000,198.18.0.2:80 ([fd00::1]:40000 for IPv6)')
    .option('--bidirectional', 'also take the reverse direction (the default)')
    .option('--no-bidirectional', 'only packets going the selected way (from --host/--port, or source to destination of --tuple)')
    .option('--packets <n>', 'stop after writing n packets')
    .option('--bytes <size>', 'stop after writing this much packet data (1000, 64KiB, 10MiB)')
    .option('--snaplen <bytes>', 'bytes kept of each packet from its IP header (default: headers only, no payload)')
    .option('--duration <duration>', 'stop after this long (30s, 5m, 1h)')
    .option('--sample <n>', 'write one matching packet in n; the others are counted as skipped')
    .option('--rate <packets-per-second>', 'write at most this many packets per second; the excess is counted as skipped')
    .option('--wait', 'wait until the capture ends and print its final status (Ctrl-C stops it)')
    .option('--json', 'print the status as JSON')
    .allowExcessArguments(false)
    .action(async (options: Record<string, unknown>) => {
      await done(await startCapture(options, io));
    });

  capture
    .command('list')
    .description('running captures and the most recent finished ones')
    .addOption(socket())
    .option('--json', 'print the list as JSON')
    .allowExcessArguments(false)
    .action(async (options: { socket: string; json?: boolean }) => {
      await done(await run(io, async () => {
        const captures = await new ControlClient(options.socket).list();
        io.out(options.json ? `${JSON.stringify(captures, null, 2)}\n` : formatList(captures));
      }));
    });

  capture
    .command('stop')
    .description('stop a running capture; prints its final status')
    .argument('<id>', 'the capture id, as start and list print it (e.g. cap-3)')
    .addOption(socket())
    .option('--json', 'print the status as JSON')
    .allowExcessArguments(false)
    .action(async (id: string, options: { socket: string; json?: boolean }) => {
      await done(await run(io, async () => {
        const status = await new ControlClient(options.socket).stop(id);
        io.out(options.json ? `${JSON.stringify(status, null, 2)}\n` : formatStatus(status));
      }));
    });
  return capture;
}

async function startCapture(options: Record<string, unknown>, io: Io): Promise<number> {
  const input: Record<string, unknown> = {};
  for (const field of Object.keys(FLAG) as CaptureInputField[]) if (options[field] !== undefined) input[field] = options[field];
  let request;
  try {
    request = parseCaptureInput(input as CaptureInput, (field) => FLAG[field]);
  } catch (error) {
    if (!(error instanceof CaptureInputProblem)) throw error;
    const where = error.field === '' ? '' : `${FLAG[error.field]}: `;
    io.err(`tcpscope: CAPTURE_INVALID_REQUEST: ${where}${error.problem}\n`);
    return CAPTURE_EXIT_USAGE;
  }
  const client = new ControlClient(options.socket as string);
  return run(io, async () => {
    let status = await client.start(request);
    if (!options.wait) {
      io.out(options.json ? `${JSON.stringify(status, null, 2)}\n` : formatStatus(status));
      return;
    }
    let interrupted = false;
    const onInterrupt = () => {
      if (interrupted) return;
      interrupted = true;
      void client.stop(status.id).catch(() => undefined);
    };
    // Listening before saying so: a Ctrl-C right after the line must stop the capture, not the CLI.
    process.on('SIGINT', onInterrupt);
    if (!options.json) io.out(`${status.id} started; waiting for it to end (Ctrl-C stops it)\n`);
    try {
      while (status.state === 'running') status = await client.get(status.id, WAIT_SLICE_MS);
    } finally {
      process.off('SIGINT', onInterrupt);
    }
    io.out(options.json ? `${JSON.stringify(status, null, 2)}\n` : formatStatus(status));
    if (status.state === 'failed') throw new TcpscopeError('CAPTURE_FAILED', `capture ${status.id} failed: ${status.error ?? 'no reason given'}`);
  });
}

async function run(io: Io, body: () => Promise<void>): Promise<number> {
  try {
    await body();
    return CAPTURE_EXIT_OK;
  } catch (error) {
    if (error instanceof TcpscopeError) {
      io.err(`tcpscope: ${error.code}: ${error.message}\n`);
      return error.code === 'CAPTURE_INVALID_REQUEST' ? CAPTURE_EXIT_USAGE : CAPTURE_EXIT_FAILURE;
    }
    throw error;
  }
}

export function describeSelection(selection: CaptureSelection): string {
  const parts: string[] = [];
  const end = (address?: string, port?: number) => (address === undefined ? `*:${port}` : `${address.includes(':') ? `[${address}]` : address}:${port ?? '*'}`);
  if (selection.cgroupPaths) parts.push(`cgroups ${selection.cgroupPaths.join(', ')}`);
  if (selection.cgroupIds) parts.push(`cgroup ids ${selection.cgroupIds.join(', ')}`);
  const source = selection.sourceAddress !== undefined || selection.sourcePort !== undefined;
  const destination = selection.destinationAddress !== undefined || selection.destinationPort !== undefined;
  if (source && destination) parts.push(`${end(selection.sourceAddress, selection.sourcePort)} -> ${end(selection.destinationAddress, selection.destinationPort)}`);
  else if (source) parts.push(`from ${end(selection.sourceAddress, selection.sourcePort)}`);
  else if (destination) parts.push(`to ${end(selection.destinationAddress, selection.destinationPort)}`);
  parts.push(selection.bidirectional === false ? 'one direction' : 'both directions');
  return parts.join('; ');
}

export function describeBounds(bounds: CaptureBounds): string {
  const parts: string[] = [];
  if (bounds.packets !== undefined) parts.push(`${bounds.packets} packets`);
  if (bounds.bytes !== undefined) parts.push(`${bounds.bytes} bytes`);
  if (bounds.durationMs !== undefined) parts.push(`${bounds.durationMs / 1000}s`);
  parts.push(bounds.snaplen === undefined ? 'headers only' : `snaplen ${bounds.snaplen}`);
  if (bounds.sampleOneIn !== undefined && bounds.sampleOneIn > 1) parts.push(`1 in ${bounds.sampleOneIn}`);
  if (bounds.packetsPerSecond) parts.push(`at most ${bounds.packetsPerSecond}/s`);
  return parts.join(', ');
}

export function formatStatus(status: ControlCaptureStatus): string {
  const skipped = status.skipped;
  const lines = [
    `${status.id} ${status.state}${status.end ? ` (${status.end})` : ''}  receiver ${status.receiver}, ${status.reason}${status.name ? `, name ${status.name}` : ''}`,
    ...(status.pods ? [`  pods: ${status.pods.map((p) => `${p.namespace}/${p.name}`).join(', ')}`] : []),
    `  selection: ${describeSelection(status.selection)}`,
    `  bounds: ${describeBounds(status.bounds)}`,
    `  captured: ${status.captured.packets} packets, ${status.captured.bytes} bytes; skipped ${skipped.total} (sampling ${skipped.sampling}, rate limit ${skipped.rateLimit}, lost ${skipped.lost})`,
    `  started ${status.startedAt}${status.endedAt ? `, ended ${status.endedAt}` : ''}`,
    ...status.files.map((file) => `  file: ${file}`),
    ...(status.error ? [`  error: ${status.error}`] : []),
  ];
  return `${lines.join('\n')}\n`;
}

export function formatList(captures: readonly ControlCaptureStatus[]): string {
  if (captures.length === 0) return 'no captures (running or recent) in this agent\n';
  const rows = [
    ['ID', 'STATE', 'REASON', 'NAME', 'PACKETS', 'BYTES', 'SKIPPED', 'STARTED', 'FILES'],
    ...captures.map((c) => [c.id, c.end ? `${c.state}/${c.end}` : c.state, c.reason, c.name ?? '-', String(c.captured.packets), String(c.captured.bytes), String(c.skipped.total), c.startedAt, c.files.join(',') || '-']),
  ];
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]))).join('  ')).join('\n') + '\n';
}
