import type { ReceiverFactory } from '../../component';
import { tcpHandshakeSchema, type TcpHandshakeConfig } from './config';
import { TcpHandshakeReceiver } from './receiver';

export const tcpHandshakeReceiverFactory: ReceiverFactory<TcpHandshakeConfig> = {
  kind: 'receiver',
  type: 'tcp_handshake',
  signals: ['metrics', 'logs'],
  schema: tcpHandshakeSchema,
  create: (settings, config, next) => new TcpHandshakeReceiver(settings, config, next),
};
