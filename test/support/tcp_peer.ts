// A TCP client or server run as a child process (inside a test cgroup) with known payload sizes.
//   server <replyBytes> <mode>      prints {"v4":port,"v6":port,"dual":port} and serves until killed
//   client <host> <port> <count> <sendBytes> <holdMs> <mode>   connects count times, one after another
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

function once(host: string, port: number, sendBytes: number, holdMs: number, mode: Mode): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port, allowHalfOpen: true });
    socket.on('error', reject);
    socket.on('data', () => undefined);
    socket.on('close', () => resolve());
    socket.on('connect', () => {
      setTimeout(() => {
        if (mode === 'client-first') socket.end(Buffer.alloc(sendBytes, 0x62));
        else socket.on('end', () => socket.end(Buffer.alloc(sendBytes, 0x62)));
      }, holdMs);
    });
  });
}

async function client(host: string, port: number, count: number, sendBytes: number, holdMs: number, mode: Mode): Promise<void> {
  for (let i = 0; i < count; i++) await once(host, port, sendBytes, holdMs, mode);
  process.stdout.write(JSON.stringify({ done: count }) + '\n');
}

const [role, ...args] = process.argv.slice(2);
if (role === 'server') serve(Number(args[0]), args[1] as Mode);
else if (role === 'client') {
  client(args[0], Number(args[1]), Number(args[2]), Number(args[3]), Number(args[4]), args[5] as Mode).catch((error: Error) => {
    process.stderr.write(`client failed: ${error.message}\n`);
    process.exit(1);
  });
} else {
  process.stderr.write('usage: tcp_peer server <replyBytes> <mode> | client <host> <port> <count> <sendBytes> <holdMs> <mode>\n');
  process.exit(2);
}
