import type { ReceiverFactory } from '../../component';
import { tcpAnomaliesSchema, validateTcpAnomaliesConfig, type TcpAnomaliesConfig } from './config';
import { TcpAnomaliesReceiver } from './receiver';

export const tcpAnomaliesReceiverFactory: ReceiverFactory<TcpAnomaliesConfig> = {
  kind: 'receiver',
  type: 'tcp_anomalies',
  signals: ['metrics', 'logs'],
  schema: tcpAnomaliesSchema,
  validate: (config) => validateTcpAnomaliesConfig(config),
  create: (settings, config, next) => new TcpAnomaliesReceiver(settings, config, next),
};
