import type { ReceiverFactory } from '../../component';
import { packetCaptureSchema, validatePacketCaptureConfig, type PacketCaptureConfig } from './config';

export const packetCaptureReceiverFactory: ReceiverFactory<PacketCaptureConfig> = {
  kind: 'receiver',
  type: 'packet_capture',
  signals: ['metrics', 'logs'],
  schema: packetCaptureSchema,
  validate: (config) => validatePacketCaptureConfig(config),
  create: (settings, config, next) => {
    // Loaded only when configured: the engine, pcapng writer and trigger watch stay out of every
    // other agent's memory.
    const { PacketCaptureReceiver } = require('./receiver') as typeof import('./receiver');
    return new PacketCaptureReceiver(settings, config, next);
  },
};
