// The config of the kernel event filters receivers share (tcp_handshake, tcp_anomalies): a port
// list the kernel matches, and a cgroup v2 subtree whose cgroups it holds in a map. Each receiver
// writes its own docs (what its ports match differs); the formats and checks are these.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { SettingProblem } from '../../component';
import { findCgroupV2Root } from '../../host/cgroup_resolver';

/** convict format of `ports`: at most `max` ports (the kernel's array size) from 1 to 65535. */
export function portListFormat(max: number): (value: unknown) => void {
  return (value: unknown) => {
    if (!Array.isArray(value) || value.length > max || !value.every((p) => Number.isInteger(p) && p >= 1 && p <= 65535)) {
      throw new Error(`must be a list of at most ${max} ports from 1 to 65535`);
    }
  };
}

/** convict format of `cgroup_prefix`: empty (no filter) or a path below the cgroup v2 root. */
export function cgroupPrefixFormat(value: unknown): void {
  if (typeof value !== 'string' || (value !== '' && !value.startsWith('/'))) {
    throw new Error(`must be empty or a cgroup path starting with /`);
  }
}

/** A `cgroup_prefix` that names no cgroup on this host, as the problem to report; undefined when it is fine. */
export function cgroupPrefixProblem(prefix: string, root: string | undefined = findCgroupV2Root()): SettingProblem | undefined {
  if (prefix === '') return undefined;
  if (!root || !existsSync(join(root, prefix))) {
    return { key: 'cgroup_prefix', message: `no cgroup ${JSON.stringify(prefix)} under the cgroup v2 root ${root ?? '(not mounted)'}` };
  }
  return undefined;
}
