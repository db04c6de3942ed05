// N short connections one after the other, to a local echo server in the same process: each makes
// ROUNDS round trips of one byte, then closes. A closed socket's memory is reused by the next one
// (TCP sockets come from a slab cache), which is what tcp_rtt's sample_interval test needs.
//   sequential_connections N ROUNDS   prints {"connections":N} when all are done
import { connect, createServer, type AddressInfo } from 'node:net';

const connections = Number(process.argv[2]);
const rounds = Number(process.argv[3]);

function oneConnection(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port }, () => socket.write('x'));
    socket.setNoDelay(true);
    let received = 0;
    socket.on('data', (d) => {
      received += d.length;
      if (received < rounds) socket.write('x');
      else socket.end(resolve);
    });
    socket.on('error', reject);
  });
}

const server = createServer((socket) => {
  socket.setNoDelay(true);
  socket.on('data', (d) => socket.write(d));
  socket.on('error', () => undefined);
});
server.listen(0, '127.0.0.1', () => {
  void (async () => {
    const { port } = server.address() as AddressInfo;
    for (let i = 0; i < connections; i++) await oneConnection(port);
    process.stdout.write(JSON.stringify({ connections }) + '\n');
    server.close();
  })().catch((e: Error) => {
    process.stderr.write(`sequential_connections failed: ${e.message}\n`);
    process.exit(1);
  });
});
