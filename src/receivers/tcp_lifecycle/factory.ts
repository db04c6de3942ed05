import type { ReceiverFactory } from '../../component';
import { tcpLifecycleSchema, type TcpLifecycleConfig } from './config';
import { TcpLifecycleReceiver } from './receiver';

export const tcpLifecycleReceiverFactory: ReceiverFactory<TcpLifecycleConfig> = {
  kind: 'receiver',
  type: 'tcp_lifecycle',
  signals: ['metrics', 'logs'],
  // tcp.connect / tcp.accept at ESTABLISHED, with their owners, unless `events` leaves them out
  reportsEvents: (config) => [
    ...(config.events.includes('tcp.connect') ? (['established_connect'] as const) : []),
    ...(config.events.includes('tcp.accept') ? (['established_accept'] as const) : []),
  ],
  schema: tcpLifecycleSchema,
  create: (settings, config, next) => new TcpLifecycleReceiver(settings, config, next),
};
