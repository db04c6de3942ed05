// Holds many TCP connections open at once on loopback, then closes them all.
//   many_connections COUNT   listens on 127.0.0.1:0, opens COUNT connections to itself (at most
//                            100 handshakes in flight), prints {"opened":COUNT,"port":N} once every
//                            connection is established and accepted, then closes every client
//                            socket and prints {"closed":COUNT} once both sides of all are closed.
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';

const total = Number(process.argv[2]);
const IN_FLIGHT = 100;
const accepted: Socket[] = [];
const clients: Socket[] = [];
let connected = 0;
let closedSockets = 0;

function fail(message: string): never {
  process.stderr.write(`many_connections: ${message}\n`);
  process.exit(1);
}

const server = createServer((socket) => {
  accepted.push(socket);
  socket.on('error', () => undefined);
  socket.on('close', onClosed);
  maybeOpened();
});
server.on('error', (e) => fail(e.message));

function onClosed(): void {
  if (++closedSockets === 2 * total) {
    process.stdout.write(JSON.stringify({ closed: total }) + '\n');
    server.close();
  }
}

function maybeOpened(): void {
  if (connected < total || accepted.length < total) return;
  process.stdout.write(JSON.stringify({ opened: total, port: (server.address() as AddressInfo).port }) + '\n');
  for (const c of clients) c.end();
}

function openNext(port: number): void {
  if (clients.length >= total) return;
  const socket = connect({ host: '127.0.0.1', port }, () => {
    connected++;
    maybeOpened();
    openNext(port);
  });
  socket.on('error', (e) => fail(`connection ${clients.length}: ${e.message}`));
  socket.on('close', onClosed);
  clients.push(socket);
}

server.listen({ host: '127.0.0.1', port: 0, backlog: 1024 }, () => {
  const { port } = server.address() as AddressInfo;
  for (let i = 0; i < Math.min(IN_FLIGHT, total); i++) openNext(port);
});
