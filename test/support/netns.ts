// Test hosts in network namespaces the test creates itself, joined by a veth pair and addressed
// in 198.18.0.0/15 and fd00::/8 only. Everything is removed by cleanup(), also after a failure.
// Names are unique per run (pid + random, see names.ts): two checkouts testing on one machine at
// once never meet, and namespaces of dead runs are removed before new ones are made.
import { execFileSync } from 'node:child_process';
import { isStale, randomTag, uniqueName } from './names';

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

let staleRemoved = false;

/** Deletes the test namespaces of test runs whose process is gone (once per process). */
export function removeStaleNamespaces(): void {
  if (staleRemoved) return;
  staleRemoved = true;
  let listing = '';
  try {
    listing = sh(['ip', 'netns', 'list']);
  } catch {
    return; // no iproute2: the test itself will say so
  }
  for (const name of listing.split('\n').map((l) => l.split(' ')[0]).filter(Boolean)) {
    if (!isStale(name)) continue;
    process.stderr.write(`note: deleting network namespace ${name} left behind by an earlier test run\n`);
    try {
      sh(['ip', 'netns', 'del', name]);
    } catch {
      // deleted meanwhile
    }
  }
}

/**
 * Three namespaces and a veth pair. `tag` names the test in the namespaces' names; `subnet` picks
 * 198.18.<subnet>.0/24 and fd00:<subnet>::/64 (inside the test's own namespaces, so two runs
 * using the same subnet do not collide).
 */
export function createTestLink(tag: string, subnet = 0): TestLink {
  removeStaleNamespaces();
  const name = uniqueName(tag);
  const client = `${name}-c`;
  const peer = `${name}-p`;
  const isolated = `${name}-i`;
  const device = randomTag();
  const clientDevice = `ts${device}c`;
  const peerDevice = `ts${device}p`;
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
    // Made inside the client namespace: a failure half-way leaves nothing in the root namespace.
    sh(['ip', '-n', client, 'link', 'add', clientDevice, 'type', 'veth', 'peer', 'name', peerDevice, 'netns', peer]);
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

/** One namespace with only loopback up, for loopback traffic no other process on the host can see. */
export interface TestNamespace {
  readonly name: string;
  /** `ip netns exec <name> ...command` */
  exec(command: readonly string[]): string[];
  cleanup(): void;
}

export function createTestNamespace(tag: string): TestNamespace {
  removeStaleNamespaces();
  const name = uniqueName(tag);
  const namespace: TestNamespace = {
    name,
    exec: (command) => ['ip', 'netns', 'exec', name, ...command],
    cleanup() {
      try {
        sh(['ip', 'netns', 'del', name]);
      } catch {
        // not created
      }
    },
  };
  try {
    sh(['ip', 'netns', 'add', name]);
    sh(['ip', '-n', name, 'link', 'set', 'lo', 'up']);
  } catch (error) {
    namespace.cleanup();
    throw error;
  }
  return namespace;
}
