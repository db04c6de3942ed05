// The kernel's own count of segments a TCP socket received (tcp_sock.segs_in, shown by `ss -ti`),
// for the RTT tests' upper bound on samples. tcp_v4_rcv adds every segment to segs_in (a GRO'd or
// backlog-coalesced skb by its segment count) before the socket processes it; tcp_rcv_established,
// where tcp:tcp_probe fires once per skb, sees at most the segments received in ESTABLISHED. The
// handshake's segments are counted but processed in tcp_rcv_state_process instead: for a client
// the SYN-ACK (segs_in - 1), for an accepted socket the SYN (tcp_create_openreq_child starts
// segs_in at 1) and the ACK that completed the handshake (tcp_child_process) (segs_in - 2).
// Measured on Linux 6.18 with a tracefs instance on tcp:tcp_probe: exactly that many events.
import { execFileSync } from 'node:child_process';

export interface SocketSegments {
  readonly localPort: number;
  readonly peerPort: number;
  readonly segsIn: number;
}

/** Established TCP sockets matching an `ss` filter expression, run in `namespace` if given. */
export function establishedSegments(filter: readonly string[], namespace?: string): SocketSegments[] {
  const command = [...(namespace ? ['ip', 'netns', 'exec', namespace] : []), 'ss', '-tinH', 'state', 'established', ...filter];
  const text = execFileSync(command[0], command.slice(1), { encoding: 'utf8' });
  // Each socket: "Recv-Q Send-Q local:port peer:port", then -i's details on an indented line.
  const sockets: SocketSegments[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const address = /^\d+\s+\d+\s+\S+:(\d+)\s+\S+:(\d+)\s*$/.exec(lines[i]);
    if (!address) continue;
    const details = `${lines[i]} ${lines[i + 1] ?? ''}`;
    const segs = /\bsegs_in:(\d+)/.exec(details);
    if (!segs) throw new Error(`ss shows no segs_in for ${lines[i].trim()}: ${text}`);
    sockets.push({ localPort: Number(address[1]), peerPort: Number(address[2]), segsIn: Number(segs[1]) });
  }
  return sockets;
}

/** Which end opened the connection: the client (connect) or the accepted socket (accept). */
export type Opener = 'client' | 'accepted';

/** Segments the socket received in ESTABLISHED: at most that many tcp:tcp_probe runs. */
export function segmentsInEstablished(socket: SocketSegments, opener: Opener): number {
  return socket.segsIn - (opener === 'client' ? 1 : 2);
}
