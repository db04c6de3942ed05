// Names for what tests create on the host (cgroups, network namespaces, veth devices). Tests of
// several checkouts may run on one machine at once, so a name carries the creating process's pid
// (to find what a dead run left behind) and a random part (so two runs never share a name, even
// when a pid is reused).
import { randomBytes } from 'node:crypto';

/** `tcpscope-<kind>-<pid>-<8 hex>`. */
export function uniqueName(kind: string): string {
  return `tcpscope-${kind}-${process.pid}-${randomBytes(4).toString('hex')}`;
}

/** The pid in a name made by uniqueName (possibly with a suffix after it), if any. */
export function creatorPid(name: string): number | undefined {
  const match = /^tcpscope-.+-(\d+)-[0-9a-f]{8}(?:-.*)?$/.exec(name);
  return match ? Number(match[1]) : undefined;
}

/** True when `name` was made by uniqueName in a process that no longer exists. */
export function isStale(name: string): boolean {
  const pid = creatorPid(name);
  if (pid === undefined || pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/** 8 random hex digits, for interface names (at most 15 bytes). */
export function randomTag(): string {
  return randomBytes(4).toString('hex');
}

/**
 * A random address in 127.0.0.0/8 other than 127.0.0.x, for a test server that goes down and
 * comes back on the same port: while it is down nothing listens there (connects are refused, as
 * with a real outage), and no other process on the host binds this address, so the port cannot be
 * taken in between (only a wildcard bind of that very port could, which needs a process choosing
 * it by number within the outage).
 */
export function uniqueLoopbackAddress(): string {
  const [a, b, c] = randomBytes(3);
  return `127.${1 + (a % 254)}.${b}.${1 + (c % 254)}`;
}
