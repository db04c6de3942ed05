// The packet_capture receiver: its start makes the capture service (CaptureEngine) available to
// the control channel and attaches the trigger watch when configured; its shutdown ends every
// running capture, delivers their events and the last metrics.
import type { Consumers, CreateSettings, Host, Receiver } from '../../component';
import type { PacketCaptureConfig } from './config';
import { CaptureEngine, type PacketCaptureOptions } from './engine';

export type { PacketCaptureOptions } from './engine';

export class PacketCaptureReceiver implements Receiver {
  readonly engine: CaptureEngine;

  constructor(settings: CreateSettings, config: PacketCaptureConfig, next: Consumers, options: PacketCaptureOptions = {}) {
    this.engine = new CaptureEngine(settings, config, next, options);
  }

  async start(_host: Host): Promise<void> {
    this.engine.open();
  }

  async shutdown(): Promise<void> {
    await this.engine.close();
  }
}
