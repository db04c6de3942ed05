// A tcp_peer.ts server and client pair in a test cgroup: the loopback traffic most kernel and
// end-to-end tests observe. Both are pushed onto the caller's `children` (killed on cleanup).
import type { TestCgroup } from './cgroup';
import { startChild, TCP_PEER, type RunningChild } from './child';

export interface TcpPeersOptions {
  /** Connections the client makes, one after another. */
  readonly connections: number;
  /** Bytes the server sends on each connection. */
  readonly replyBytes: number;
  /** Bytes the client sends on each connection. */
  readonly sendBytes: number;
  /** How long the client holds each connection open, in ms. */
  readonly holdMs: number;
  /** Loopback address the client connects to: the server's v4 or v6 port follows. */
  readonly host?: '127.0.0.1' | '::1';
  /** Each connection from a distinct random local port in [from, to) instead of the kernel's
   * ephemeral ports, which come in sequence. */
  readonly localPorts?: readonly [from: number, to: number];
}

export interface TcpPeers {
  readonly server: RunningChild;
  /** Prints {"done": connections} when its last connection is closed; the caller awaits it. */
  readonly client: RunningChild;
}

/** Starts the server, waits for its ports, then starts the client (mode client-first). */
export async function startTcpPeers(cgroup: TestCgroup, children: RunningChild[], options: TcpPeersOptions): Promise<TcpPeers> {
  const server = startChild(cgroup.wrap([process.execPath, TCP_PEER, 'server', String(options.replyBytes), 'client-first']));
  children.push(server);
  const ports = await server.nextJson<{ v4: number; v6: number }>();
  const host = options.host ?? '127.0.0.1';
  const port = host === '::1' ? ports.v6 : ports.v4;
  const argv = [process.execPath, TCP_PEER, 'client', host, String(port), String(options.connections), String(options.sendBytes), String(options.holdMs), 'client-first'];
  if (options.localPorts !== undefined) argv.push(`ports:${options.localPorts[0]}-${options.localPorts[1]}`);
  const client = startChild(cgroup.wrap(argv));
  children.push(client);
  return { server, client };
}
