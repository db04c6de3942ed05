// Attributes that say whose a socket or a series is: its handshake role and its cgroup.
import type { Attributes } from '@opentelemetry/api';
import type { CgroupResolver } from '../../host/cgroup_resolver';
import { ATTR } from '../../telemetry/attributes';

export type HandshakeRole = 'client' | 'server';

/** The cgroup id the kernel programs use for their one overflow series (map full). */
export const OVERFLOW_CGROUP_ID = 0xffffffffffffffffn;

export function cgroupAttributes(resolver: CgroupResolver, cgroupId: bigint, into: Attributes): void {
  if (cgroupId === OVERFLOW_CGROUP_ID) {
    into[ATTR.overflow.key] = true;
    return;
  }
  const path = resolver.resolve(cgroupId);
  if (path !== undefined) into[ATTR.processLinuxCgroup.key] = `0::${path}`;
  else into[ATTR.cgroupId.key] = Number(cgroupId);
}

export function workloadAttributes(resolver: CgroupResolver, cgroupId: bigint, role: HandshakeRole): Attributes {
  const attributes: Attributes = { [ATTR.handshakeRole.key]: role };
  cgroupAttributes(resolver, cgroupId, attributes);
  return attributes;
}
