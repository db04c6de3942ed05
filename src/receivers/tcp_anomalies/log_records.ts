// Anomaly events as tcp.reset / tcp.retransmit / tcp.drop log records: the attribute map in the
// order it is exported, and the decoded reference record the raw records are tested against.
import type { Attributes, HrTime } from '@opentelemetry/api';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { hrTimeNow } from '../../host/monotonic_clock';
import { ATTR } from '../../telemetry/attributes';
import { EVENTS } from '../../telemetry/signals';
import type { LogRecordContext } from '../common/log_record_context';
import { cgroupAttributes } from '../common/workload_attributes';
import type { AnomalyEvent, AnomalyKind } from './decoder';
import type { KernelReasons } from './kernel_reasons';
import { retransmitNames, tcpStateName } from './names';

/** What names the kernel's reasons (kernel_reasons.ts). */
export type ReasonNames = Pick<KernelReasons, 'resetReasonName' | 'dropReasonName'>;

export function anomalyEventName(kind: AnomalyKind): string {
  switch (kind) {
    case 'retransmit':
      return EVENTS.retransmit.name;
    case 'drop':
      return EVENTS.drop.name;
    default:
      return EVENTS.reset.name;
  }
}

/**
 * The attributes of an anomaly event; `addCgroup` adds the socket's cgroup attributes (not called
 * for the host: no socket, no cgroup).
 */
export function anomalyAttributes(event: AnomalyEvent, names: ReasonNames, addCgroup: (into: Attributes) => void): Attributes {
  const attributes: Attributes = { [ATTR.networkTransport.key]: 'tcp' };
  if (event.local && event.peer) {
    attributes[ATTR.networkType.key] = event.peer.type;
    attributes[ATTR.localAddress.key] = event.local.text;
    attributes[ATTR.localPort.key] = event.localPort;
    attributes[ATTR.peerAddress.key] = event.peer.text;
    attributes[ATTR.peerPort.key] = event.peerPort;
  }
  switch (event.kind) {
    case 'reset_sent':
      attributes[ATTR.ioDirection.key] = 'transmit';
      attributes[ATTR.tcpResetReason.key] = names.resetReasonName(event.reason);
      break;
    case 'reset_received':
      attributes[ATTR.ioDirection.key] = 'receive';
      break;
    case 'retransmit': {
      const { kind, trigger } = retransmitNames(event.reason);
      attributes[ATTR.tcpRetransmitKind.key] = kind;
      attributes[ATTR.tcpRetransmitTrigger.key] = trigger;
      attributes[ATTR.tcpRetransmits.key] = Number(event.count);
      break;
    }
    case 'drop':
      attributes[ATTR.tcpDropReason.key] = names.dropReasonName(event.reason);
      break;
  }
  const state = tcpStateName(event.state);
  if (state !== undefined) attributes[ATTR.connectionState.key] = state;
  if (event.pid !== 0) {
    attributes[ATTR.processPid.key] = event.pid;
    attributes[ATTR.processExecutableName.key] = event.comm;
  }
  if (event.cgroupId !== 0n) addCgroup(attributes);
  if (event.netnsInode !== 0) attributes[ATTR.netnsInode.key] = event.netnsInode;
  return attributes;
}

export function anomalyLogRecord(event: AnomalyEvent, ctx: LogRecordContext, names: ReasonNames, observed: HrTime = hrTimeNow()): ReadableLogRecord {
  return {
    hrTime: ctx.clock.toHrTime(event.timestampNs),
    hrTimeObserved: observed,
    eventName: anomalyEventName(event.kind),
    attributes: anomalyAttributes(event, names, (into) => cgroupAttributes(ctx.cgroups, event.cgroupId, into)),
    resource: ctx.resource,
    instrumentationScope: ctx.scope,
    droppedAttributesCount: 0,
  };
}
