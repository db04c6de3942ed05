// Lifecycle events as OpenTelemetry log records named by their event name.
import type { Attributes, HrTime } from '@opentelemetry/api';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { hrTimeNow } from '../../host/monotonic_clock';
import { ATTR } from '../../telemetry/attributes';
import { EVENTS } from '../../telemetry/signals';
import type { LifecycleEvent } from './decoder';
import { secondsFromNs, secondsFromUs } from '../common/event_fields';
import type { LogRecordContext } from '../common/log_record_context';
import { cgroupAttributes } from '../common/workload_attributes';

const EVENT_NAMES = { connect: EVENTS.connect.name, accept: EVENTS.accept.name, close: EVENTS.close.name };

export const LIFECYCLE_EVENT_NAMES = EVENT_NAMES;

/** The attributes of a lifecycle event, in the order they are exported; `addCgroup` adds the cgroup's. */
export function lifecycleAttributes(event: LifecycleEvent, addCgroup: (into: Attributes) => void): Attributes {
  const attributes: Attributes = {
    [ATTR.networkTransport.key]: 'tcp',
    [ATTR.networkType.key]: event.local.type,
    [ATTR.localAddress.key]: event.local.text,
    [ATTR.localPort.key]: event.localPort,
    [ATTR.peerAddress.key]: event.peer.text,
    [ATTR.peerPort.key]: event.peerPort,
    [ATTR.handshakeRole.key]: event.role,
  };
  if (event.pid !== 0) {
    attributes[ATTR.processPid.key] = event.pid;
    attributes[ATTR.processExecutableName.key] = event.comm;
  }
  addCgroup(attributes);
  attributes[ATTR.netnsInode.key] = event.netnsInode;
  if (event.handshakeNs !== undefined) attributes[ATTR.tcpHandshakeDuration.key] = secondsFromNs(event.handshakeNs);
  const close = event.close;
  if (close) {
    attributes[ATTR.tcpDuration.key] = secondsFromNs(close.durationNs);
    attributes[ATTR.tcpBytesSent.key] = Number(close.bytesSent);
    attributes[ATTR.tcpBytesReceived.key] = Number(close.bytesReceived);
    attributes[ATTR.tcpSegmentsSent.key] = close.segmentsSent;
    attributes[ATTR.tcpSegmentsReceived.key] = close.segmentsReceived;
    attributes[ATTR.tcpRetransmits.key] = close.retransmits;
    attributes[ATTR.tcpRtt.key] = secondsFromUs(close.srttUs);
    attributes[ATTR.tcpConnectionEnd.key] = close.end;
  }
  return attributes;
}

export function lifecycleLogRecord(event: LifecycleEvent, ctx: LogRecordContext, observed: HrTime = hrTimeNow()): ReadableLogRecord {
  const attributes = lifecycleAttributes(event, (into) => cgroupAttributes(ctx.cgroups, event.cgroupId, into));
  return {
    hrTime: ctx.clock.toHrTime(event.timestampNs),
    hrTimeObserved: observed,
    eventName: EVENT_NAMES[event.kind],
    attributes,
    resource: ctx.resource,
    instrumentationScope: ctx.scope,
    droppedAttributesCount: 0,
  };
}
