import type { ReceiverFactory } from '../../component';
import { packetCaptureSchema, validatePacketCaptureConfig, type PacketCaptureConfig } from './config';
import { PacketCaptureReceiver } from './receiver';

export const packetCaptureReceiverFactory: ReceiverFactory<PacketCaptureConfig> = {
  kind: 'receiver',
  type: 'packet_capture',
  signals: ['metrics', 'logs'],
  schema: packetCaptureSchema,
  validate: (config) => validatePacketCaptureConfig(config),
  create: (settings, config, next) => new PacketCaptureReceiver(settings, config, next),
};
