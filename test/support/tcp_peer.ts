// A TCP client or server run as a child process (inside a test cgroup) with known payload sizes.
//   server <replyBytes> <mode>      prints {"v4":port,"v6":port,"dual":port} and serves until killed
//   client <host> <port> <count> <sendBytes> <holdMs> <mode> [ports:A-B]
//                                   connects count times, one after another, each held holdMs
//                                   (-1: held until the process gets SIGUSR1, so that a test can
//                                   look at an open connection for as long as it needs); with ports:A-B each
//                                   from a distinct random local port in [A, B) instead of the
//                                   kernel's ephemeral ports, which come in sequence
// mode client-first: the client sends, half-closes; the server reads to EOF, replies, closes.
// mode server-first: the server replies at once and half-closes; the client reads to EOF, then
// sends and closes. Both orders matter: the kernel's byte counters include FIN differently.
import { createServer, connect, type Socket, type AddressInfo } from 'node:net';

type Mode = 'client-first' | 'server-first';

function serve(replyBytes: number, mode: Mode): void {
  const onConnection = (socket: Socket) => {
    socket.on('error', () => undefined);
    socket.on('data', () => undefined);
    if (mode === 'server-first') socket.end(Buffer.alloc(replyBytes, 0x61));
    else socket.on('end', () => socket.end(Buffer.alloc(replyBytes, 0x61)));
  };
  const listen = (host: string, ipv6Only: boolean) =>
    new Promise<number>((resolve) => {
      const server = createServer({ allowHalfOpen: true }, onConnection);
      server.listen({ host, port: 0, ipv6Only }, () => resolve((server.address() as AddressInfo).port));
    });
  void Promise.all([listen('127.0.0.1', false), listen('::1', true), listen('::', false)]).then(([v4, v6, dual]) => {
    process.stdout.write(JSON.stringify({ v4, v6, dual }) + '\n');
  });
}

/** With holdMs -1: resolves on SIGUSR1, registered at start so that an early signal is not fatal. */
let released: Promise<void> | undefined;

function hold(holdMs: number, then: () => void): void {
  if (holdMs >= 0) setTimeout(then, holdMs);
  else void released!.then(then);
}

function once(host: string, port: number, sendBytes: number, holdMs: number, mode: Mode, localPort?: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port, allowHalfOpen: true, localPort });
    socket.on('error', reject);
    socket.on('data', () => undefined);
    socket.on('close', () => resolve());
    socket.on('connect', () => {
      hold(holdMs, () => {
        if (mode === 'client-first') socket.end(Buffer.alloc(sendBytes, 0x62));
        else socket.on('end', () => socket.end(Buffer.alloc(sendBytes, 0x62)));
      });
    });
  });
}

/** Distinct local ports from [from, to) in random order (Fisher-Yates). */
function shuffledPorts(spec: string): number[] {
  const match = /^ports:(\d+)-(\d+)$/.exec(spec);
  if (!match) throw new Error(`expected ports:A-B, got ${spec}`);
  const ports = Array.from({ length: Number(match[2]) - Number(match[1]) }, (_, i) => Number(match[1]) + i);
  for (let i = ports.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [ports[i], ports[j]] = [ports[j], ports[i]];
  }
  return ports;
}

async function client(host: string, port: number, count: number, sendBytes: number, holdMs: number, mode: Mode, localPorts?: string): Promise<void> {
  const ports = localPorts ? shuffledPorts(localPorts) : [];
  for (let i = 0; i < count; i++) {
    if (!localPorts) {
      await once(host, port, sendBytes, holdMs, mode);
      continue;
    }
    // A port some other socket holds (or one in TIME_WAIT toward this server): take the next.
    for (;;) {
      const localPort = ports.shift();
      if (localPort === undefined) throw new Error(`no free local port left in ${localPorts}`);
      try {
        await once(host, port, sendBytes, holdMs, mode, localPort);
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
      }
    }
  }
  process.stdout.write(JSON.stringify({ done: count }) + '\n');
}

const [role, ...args] = process.argv.slice(2);
if (role === 'server') serve(Number(args[0]), args[1] as Mode);
else if (role === 'client') {
  if (Number(args[4]) < 0) released = new Promise((resolve) => process.once('SIGUSR1', () => resolve()));
  client(args[0], Number(args[1]), Number(args[2]), Number(args[3]), Number(args[4]), args[5] as Mode, args[6]).catch((error: Error) => {
    process.stderr.write(`client failed: ${error.message}\n`);
    process.exit(1);
  });
} else {
  process.stderr.write('usage: tcp_peer server <replyBytes> <mode> | client <host> <port> <count> <sendBytes> <holdMs> <mode> [ports:A-B]\n');
  process.exit(2);
}
