// Many connect attempts from one process, for tests of failed connects: each attempt opens a
// socket, connects and closes it, whatever happens; the errors are counted by name.
//   connect_attempts <host> <port|A-B> <count> [ports:A-B]
// A port range as the target picks a random port in [A, B) per attempt; ports:A-B binds each
// attempt to a distinct random local port in [A, B) (the kernel's ephemeral ports come in sequence).
import { connect } from 'node:net';

function randomIn(range: string): () => number {
  const [from, to] = range.replace(/^ports:/, '').split('-').map(Number);
  if (to === undefined) return () => from;
  const used = new Set<number>();
  return () => {
    for (;;) {
      const port = from + Math.floor(Math.random() * (to - from));
      if (!used.has(port)) {
        used.add(port);
        return port;
      }
    }
  };
}

function attempt(host: string, port: number, localPort: number | undefined): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, localPort });
    socket.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    socket.on('connect', () => {
      socket.destroy();
      resolve('connected');
    });
  });
}

async function main(): Promise<void> {
  const [host, target, countText, localPorts] = process.argv.slice(2);
  const nextTarget = randomIn(target);
  const nextLocal = localPorts ? randomIn(localPorts) : undefined;
  const outcomes: Record<string, number> = {};
  for (let i = 0; i < Number(countText); ) {
    const outcome = await attempt(host, nextTarget(), nextLocal?.());
    if (outcome === 'EADDRINUSE') continue; // the local port is taken: no attempt was made
    outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
    i++;
  }
  process.stdout.write(JSON.stringify(outcomes) + '\n');
}

void main();
