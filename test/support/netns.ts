// Test hosts in network namespaces the test creates itself, joined by a veth pair and addressed
// in 198.18.0.0/15 and fd00::/8 only. Everything is removed by cleanup(), also after a failure.
import { execFileSync } from 'node:child_process';

export interface TestLink {
  readonly client: string; // namespace names
  readonly peer: string;
  readonly clientV4: string;
  readonly peerV4: string;
  readonly clientV6: string;
  readonly peerV6: string;
  readonly clientDevice: string;
  readonly peerDevice: string;
  /** A namespace with only loopback: no route anywhere. */
  readonly isolated: string;
  run(namespace: string, command: readonly string[]): string;
  cleanup(): void;
}

const sh = (command: readonly string[]) => execFileSync(command[0], command.slice(1), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

export function createTestLink(tag: string, subnet = 0): TestLink {
  const client = `tcpscope-${tag}-c`;
  const peer = `tcpscope-${tag}-p`;
  const isolated = `tcpscope-${tag}-i`;
  const clientDevice = `ts${tag}c`.slice(0, 15);
  const peerDevice = `ts${tag}p`.slice(0, 15);
  const link: TestLink = {
    client,
    peer,
    isolated,
    clientDevice,
    peerDevice,
    clientV4: `198.18.${subnet}.1`,
    peerV4: `198.18.${subnet}.2`,
    clientV6: `fd00:${subnet}::1`,
    peerV6: `fd00:${subnet}::2`,
    run: (namespace, command) => sh(['ip', 'netns', 'exec', namespace, ...command]),
    cleanup() {
      for (const ns of [client, peer, isolated]) {
        try {
          sh(['ip', 'netns', 'del', ns]);
        } catch {
          // not created
        }
      }
    },
  };
  try {
    for (const ns of [client, peer, isolated]) sh(['ip', 'netns', 'add', ns]);
    sh(['ip', 'link', 'add', clientDevice, 'type', 'veth', 'peer', 'name', peerDevice]);
    sh(['ip', 'link', 'set', clientDevice, 'netns', client]);
    sh(['ip', 'link', 'set', peerDevice, 'netns', peer]);
    for (const [ns, dev, v4, v6] of [
      [client, clientDevice, link.clientV4, link.clientV6],
      [peer, peerDevice, link.peerV4, link.peerV6],
    ]) {
      sh(['ip', '-n', ns, 'addr', 'add', `${v4}/24`, 'dev', dev]);
      sh(['ip', '-n', ns, '-6', 'addr', 'add', `${v6}/64`, 'dev', dev, 'nodad']);
      sh(['ip', '-n', ns, 'link', 'set', dev, 'up']);
      sh(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
    }
    sh(['ip', '-n', isolated, 'link', 'set', 'lo', 'up']);
  } catch (error) {
    link.cleanup();
    throw error;
  }
  return link;
}
