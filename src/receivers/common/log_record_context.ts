// What every receiver's event decoder needs to turn a kernel record into a log record: the
// agent's Resource and the receiver's scope, the clock that maps kernel timestamps to wall time,
// and the resolver that names the socket's cgroup. Built once per receiver by KernelReceiver.
import type { InstrumentationScope } from '@opentelemetry/core';
import type { Resource } from '@opentelemetry/resources';
import type { CgroupResolver } from '../../host/cgroup_resolver';
import type { MonotonicClock } from '../../host/monotonic_clock';

export interface LogRecordContext {
  readonly resource: Resource;
  readonly scope: InstrumentationScope;
  readonly clock: MonotonicClock;
  readonly cgroups: CgroupResolver;
}
