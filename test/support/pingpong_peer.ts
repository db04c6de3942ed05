// Ping-pong over one long-lived TCP connection, for RTT tests.
//   server                       prints {"port":N}; echoes every chunk back
//   client HOST PORT ROUNDS      ROUNDS round trips of 64 bytes, then prints {"done":ROUNDS} and
//                                keeps the connection open until killed (for ss cross-checks)
import { connect, createServer, type AddressInfo } from 'node:net';

const [role, host, port, rounds] = process.argv.slice(2);
if (role === 'server') {
  const server = createServer((socket) => {
    socket.setNoDelay(true);
    socket.on('data', (d) => socket.write(d));
    socket.on('error', () => undefined);
  });
  server.listen(0, host ?? '127.0.0.1', () => process.stdout.write(JSON.stringify({ port: (server.address() as AddressInfo).port }) + '\n'));
} else {
  const total = Number(rounds);
  let done = 0;
  let pending = 0;
  const payload = Buffer.alloc(64, 0x70);
  const socket = connect({ host, port: Number(port) }, () => socket.write(payload));
  socket.setNoDelay(true);
  socket.on('data', (d) => {
    pending += d.length;
    while (pending >= payload.length) {
      pending -= payload.length;
      done++;
      if (done === total) process.stdout.write(JSON.stringify({ done, localPort: socket.localPort }) + '\n');
      if (done < total) socket.write(payload);
    }
  });
  socket.on('error', (e) => {
    process.stderr.write(`client failed: ${e.message}\n`);
    process.exit(1);
  });
}
