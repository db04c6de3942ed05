// Starts a capture for a control request or a schedule entry: finds the receiver's service,
// resolves pods to their containers' cgroups, and remembers which pods each capture selected
// (the engine sees only cgroups; `tcpscope capture list` names the pods).
import { CaptureError, type CaptureReason, type CaptureService, type CaptureServiceRegistry, type CaptureStatus } from '../capture_api';
import type { ControlStartRequest } from './capture_input';
import { ControlError } from './control_errors';
import type { PodCgroupResolver, SelectedPod } from './pod_cgroups';

/** A capture's status as the control channel reports it: which receiver runs it, which pods it selected. */
export interface ControlCaptureStatus extends CaptureStatus {
  readonly receiver: string;
  readonly pods?: readonly SelectedPod[];
}

/** Pods remembered per capture id, at most this many (the service's history is bounded too). */
const MAX_REMEMBERED = 1024;

export class CaptureStarter {
  private readonly podsOf = new Map<string, readonly SelectedPod[]>();

  constructor(
    readonly registry: CaptureServiceRegistry,
    private readonly pods: PodCgroupResolver,
  ) {}

  /** The service of `receiver`, or the only one; ControlError CAPTURE_NO_RECEIVER saying what exists. */
  service(receiver?: string): { id: string; service: CaptureService } {
    const ids = this.registry.ids();
    const service = this.registry.find(receiver);
    if (service) return { id: receiver ?? ids[0], service };
    if (ids.length === 0) {
      throw new ControlError('CAPTURE_NO_RECEIVER', 'this agent runs no packet_capture receiver: add one to its config (receivers: packet_capture: {}, in a logs pipeline) and restart it');
    }
    if (receiver === undefined) {
      throw new ControlError('CAPTURE_NO_RECEIVER', `this agent runs ${ids.length} packet_capture receivers (${ids.join(', ')}): name one with --receiver`);
    }
    throw new ControlError('CAPTURE_NO_RECEIVER', `this agent runs no receiver "${receiver}"; its packet_capture receivers: ${ids.join(', ')}`);
  }

  async start(request: ControlStartRequest, reason: CaptureReason): Promise<ControlCaptureStatus> {
    const { id, service } = this.service(request.receiver);
    let selection = request.selection;
    let pods: readonly SelectedPod[] | undefined;
    if (request.pods) {
      const resolved = await this.pods.resolve(request.pods);
      pods = resolved.pods;
      selection = { ...selection, cgroupPaths: [...resolved.cgroupPaths] };
    }
    const status = await service.start({
      selection,
      ...(request.bounds ? { bounds: request.bounds } : {}),
      reason,
      ...(request.name !== undefined ? { name: request.name } : {}),
    });
    if (pods) {
      if (this.podsOf.size >= MAX_REMEMBERED) this.podsOf.delete(this.podsOf.keys().next().value as string);
      this.podsOf.set(status.id, pods);
    }
    return this.describe(id, status);
  }

  /** Every capture of every receiver, by receiver in registration order, each service's oldest first. */
  list(): ControlCaptureStatus[] {
    return this.registry.ids().flatMap((id) => this.registry.find(id)!.list().map((status) => this.describe(id, status)));
  }

  /** The receiver holding capture `captureId`; CaptureError CAPTURE_NOT_FOUND when none does. */
  find(captureId: string): { id: string; service: CaptureService; status: CaptureStatus } {
    for (const id of this.registry.ids()) {
      const service = this.registry.find(id)!;
      const status = service.get(captureId);
      if (status) return { id, service, status };
    }
    throw new CaptureError('CAPTURE_NOT_FOUND', `no capture "${captureId}" in this agent (tcpscope capture list shows the running and recent ones)`);
  }

  describe(receiver: string, status: CaptureStatus): ControlCaptureStatus {
    const pods = this.podsOf.get(status.id);
    return { ...status, receiver, ...(pods ? { pods } : {}) };
  }
}
