import type { ReceiverFactory } from '../../component';
import { tcpHandshakeSchema, validateTcpHandshakeConfig, type TcpHandshakeConfig } from './config';
import { TcpHandshakeReceiver } from './receiver';

export const tcpHandshakeReceiverFactory: ReceiverFactory<TcpHandshakeConfig> = {
  kind: 'receiver',
  type: 'tcp_handshake',
  signals: ['metrics', 'logs'],
  schema: tcpHandshakeSchema,
  validate: (config) => validateTcpHandshakeConfig(config),
  create: (settings, config, next) => new TcpHandshakeReceiver(settings, config, next),
};
