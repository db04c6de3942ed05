import type { ReceiverFactory } from '../../component';
import { tcpRttSchema, type TcpRttConfig } from './config';
import { TcpRttReceiver } from './receiver';

export const tcpRttReceiverFactory: ReceiverFactory<TcpRttConfig> = {
  kind: 'receiver',
  type: 'tcp_rtt',
  signals: ['metrics'],
  schema: tcpRttSchema,
  create: (settings, config, next) => new TcpRttReceiver(settings, config, next),
};
