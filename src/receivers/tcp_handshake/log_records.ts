// Handshake outcomes as tcp.connect (client) / tcp.accept (server) log records.
import type { Attributes, HrTime } from '@opentelemetry/api';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { errnoName } from '../../host/errno';
import { hrTimeNow } from '../../host/monotonic_clock';
import { ATTR } from '../../telemetry/attributes';
import { EVENTS } from '../../telemetry/signals';
import type { LogRecordContext } from '../common/log_record_context';
import { secondsFromNs } from '../common/event_fields';
import { cgroupAttributes } from '../common/workload_attributes';
import type { HandshakeEvent } from './decoder';

/** The attributes of a handshake event, in the order they are exported; `addCgroup` adds the cgroup's. */
export function handshakeAttributes(event: HandshakeEvent, addCgroup: (into: Attributes) => void): Attributes {
  const attributes: Attributes = {
    [ATTR.networkTransport.key]: 'tcp',
    [ATTR.networkType.key]: event.peer.type,
  };
  if (event.local) {
    attributes[ATTR.localAddress.key] = event.local.text;
    // 0 when unknown: a blocking connect that failed (the kernel releases the port before CLOSE)
    if (event.localPort) attributes[ATTR.localPort.key] = event.localPort;
  }
  attributes[ATTR.peerAddress.key] = event.peer.text;
  attributes[ATTR.peerPort.key] = event.peerPort;
  attributes[ATTR.handshakeRole.key] = event.role;
  if (event.pid !== 0) {
    attributes[ATTR.processPid.key] = event.pid;
    attributes[ATTR.processExecutableName.key] = event.comm;
  }
  addCgroup(attributes);
  attributes[ATTR.netnsInode.key] = event.netnsInode;
  attributes[ATTR.tcpHandshakeDuration.key] = secondsFromNs(event.durationNs);
  if (event.error !== 0) attributes[ATTR.errorType.key] = errnoName(event.error);
  if (event.fd >= 0) attributes[ATTR.socketFd.key] = event.fd;
  return attributes;
}

export function handshakeLogRecord(event: HandshakeEvent, ctx: LogRecordContext, observed: HrTime = hrTimeNow()): ReadableLogRecord {
  const attributes = handshakeAttributes(event, (into) => cgroupAttributes(ctx.cgroups, event.cgroupId, into));
  return {
    hrTime: ctx.clock.toHrTime(event.timestampNs),
    hrTimeObserved: observed,
    eventName: event.role === 'client' ? EVENTS.connect.name : EVENTS.accept.name,
    attributes,
    resource: ctx.resource,
    instrumentationScope: ctx.scope,
    droppedAttributesCount: 0,
  };
}
