import type { ReceiverFactory } from '../../component';
import { tcpLifecycleSchema, type TcpLifecycleConfig } from './config';
import { TcpLifecycleReceiver } from './receiver';

export const tcpLifecycleReceiverFactory: ReceiverFactory<TcpLifecycleConfig> = {
  kind: 'receiver',
  type: 'tcp_lifecycle',
  signals: ['metrics', 'logs'],
  // tcp.connect / tcp.accept at ESTABLISHED, with their owners
  reportsEvents: ['established_connection'],
  schema: tcpLifecycleSchema,
  create: (settings, config, next) => new TcpLifecycleReceiver(settings, config, next),
};
