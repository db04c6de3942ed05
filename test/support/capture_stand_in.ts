// A stand-in packet_capture receiver for the control channel's tests while (or where) the real
// capture engine is absent: it keeps the contract of capture_api.ts (ids, states, selection as
// applied with cgroupPaths resolved to ids, duration bound, stop, finished) but takes no packets.
// Tests use the real receiver whenever the agent's registry has one (capture_agent.ts decides).
import { statSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import type { CreateSettings, Receiver, ReceiverFactory } from '../../src/component';
import { findCgroupV2Root } from '../../src/host/cgroup_resolver';
import {
  CaptureError,
  captureServices,
  type CaptureEnd,
  type CaptureRequest,
  type CaptureService,
  type CaptureStatus,
} from '../../src/receivers/packet_capture/capture_api';

/** Slots, as the real engine has a bounded number of concurrent captures. */
export const STAND_IN_SLOTS = 4;

export class StandInCaptureService implements CaptureService {
  private readonly captures = new Map<string, CaptureStatus>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly waiters = new Map<string, ((status: CaptureStatus) => void)[]>();
  private next = 1;

  constructor(private readonly cgroupRoot = findCgroupV2Root()) {}

  async start(request: CaptureRequest): Promise<CaptureStatus> {
    const { cgroupPaths, ...rest } = request.selection;
    if (Object.keys(rest).filter((k) => k !== 'bidirectional').length === 0 && !cgroupPaths) {
      throw new CaptureError('CAPTURE_INVALID_REQUEST', 'selection: selects nothing');
    }
    if ([...this.captures.values()].filter((c) => c.state === 'running').length >= STAND_IN_SLOTS) {
      throw new CaptureError('CAPTURE_BUSY', `all ${STAND_IN_SLOTS} capture slots are in use; stop one (tcpscope capture stop <id>) or wait`);
    }
    const ids = [...(rest.cgroupIds ?? [])];
    for (const path of cgroupPaths ?? []) {
      // As the engine: a path under the cgroup2 mount, else a path in the hierarchy (/proc/<pid>/cgroup's).
      const root = this.cgroupRoot ?? '/';
      const dir = isAbsolute(path) && (path === root || path.startsWith(`${root}/`)) ? path : join(root, path);
      try {
        ids.push(statSync(dir).ino);
      } catch {
        throw new CaptureError('CAPTURE_INVALID_REQUEST', `selection.cgroupPaths: ${path} is not a cgroup v2 directory`);
      }
    }
    const id = `cap-${this.next++}`;
    const status: CaptureStatus = {
      id,
      ...(request.name !== undefined ? { name: request.name } : {}),
      reason: request.reason ?? 'on_demand',
      state: 'running',
      selection: { ...rest, ...(ids.length > 0 ? { cgroupIds: ids } : {}), bidirectional: request.selection.bidirectional ?? true },
      bounds: { packets: 10_000, sampleOneIn: 1, ...request.bounds },
      startedAt: new Date().toISOString(),
      captured: { packets: 0, bytes: 0 },
      skipped: { total: 0, sampling: 0, rateLimit: 0, lost: 0 },
      files: [],
    };
    this.captures.set(id, status);
    const duration = request.bounds?.durationMs;
    if (duration !== undefined) this.timers.set(id, setTimeout(() => this.end(id, 'finished', 'duration'), duration));
    return status;
  }

  list(): readonly CaptureStatus[] {
    return [...this.captures.values()];
  }

  get(id: string): CaptureStatus | undefined {
    return this.captures.get(id);
  }

  async stop(id: string): Promise<CaptureStatus> {
    const status = this.captures.get(id);
    if (!status) throw new CaptureError('CAPTURE_NOT_FOUND', `no capture "${id}"`);
    return status.state === 'running' ? this.end(id, 'stopped', 'stopped') : status;
  }

  finished(id: string): Promise<CaptureStatus> {
    const status = this.captures.get(id);
    if (!status) return Promise.reject(new CaptureError('CAPTURE_NOT_FOUND', `no capture "${id}"`));
    if (status.state !== 'running') return Promise.resolve(status);
    return new Promise((resolve) => this.waiters.set(id, [...(this.waiters.get(id) ?? []), resolve]));
  }

  shutdown(): void {
    for (const [id, status] of this.captures) if (status.state === 'running') this.end(id, 'stopped', 'shutdown');
  }

  private end(id: string, state: 'finished' | 'stopped', end: CaptureEnd): CaptureStatus {
    clearTimeout(this.timers.get(id));
    this.timers.delete(id);
    const status: CaptureStatus = { ...this.captures.get(id)!, state, end, endedAt: new Date().toISOString() };
    this.captures.set(id, status);
    for (const resolve of this.waiters.get(id) ?? []) resolve(status);
    this.waiters.delete(id);
    return status;
  }
}

class StandInCaptureReceiver implements Receiver {
  private readonly service: StandInCaptureService;

  constructor(private readonly settings: CreateSettings) {
    this.service = new StandInCaptureService(settings.hostCgroupRoot);
  }

  async start(): Promise<void> {
    captureServices.register(this.settings.id.text, this.service);
  }

  async shutdown(): Promise<void> {
    captureServices.unregister(this.settings.id.text, this.service);
    this.service.shutdown();
  }
}

export const standInCaptureFactory: ReceiverFactory<{ directory: string }> = {
  kind: 'receiver',
  type: 'packet_capture',
  signals: ['logs'],
  // The real receiver's key for its files, so that one test config serves both.
  schema: { directory: { doc: 'unused by the stand-in', format: String, default: '' } },
  create: (settings) => new StandInCaptureReceiver(settings),
};
