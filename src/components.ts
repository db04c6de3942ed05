// The wiring in one place: every receiver, processor and exporter the agent ships is listed here,
// and nowhere else. Adding a component means adding its factory to FACTORIES.
import type { Factory } from './component';
import { debugExporterFactory } from './exporters/debug/factory';
import { fileExporterFactory } from './exporters/file/factory';
import { otlpExporterFactory } from './exporters/otlp/factory';
import { otlpHttpExporterFactory } from './exporters/otlphttp/factory';
import { prometheusExporterFactory } from './exporters/prometheus/factory';
import { FactoryRegistry } from './pipeline/registry';
import { k8sAttributesProcessorFactory } from './processors/k8s_attributes/factory';
import { samplingProcessorFactory } from './processors/sampling/factory';
import { packetCaptureReceiverFactory } from './receivers/packet_capture/factory';
import { tcpAnomaliesReceiverFactory } from './receivers/tcp_anomalies/factory';
import { tcpHandshakeReceiverFactory } from './receivers/tcp_handshake/factory';
import { tcpLifecycleReceiverFactory } from './receivers/tcp_lifecycle/factory';
import { tcpRttReceiverFactory } from './receivers/tcp_rtt/factory';

export const FACTORIES: readonly Factory[] = [
  // receivers
  tcpLifecycleReceiverFactory,
  tcpHandshakeReceiverFactory,
  tcpRttReceiverFactory,
  tcpAnomaliesReceiverFactory,
  packetCaptureReceiverFactory,
  // processors
  k8sAttributesProcessorFactory,
  samplingProcessorFactory,
  // exporters
  debugExporterFactory,
  fileExporterFactory,
  otlpExporterFactory,
  otlpHttpExporterFactory,
  prometheusExporterFactory,
];

export function defaultRegistry(): FactoryRegistry {
  return new FactoryRegistry(FACTORIES);
}
