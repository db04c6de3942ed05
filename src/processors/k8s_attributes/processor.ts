// The k8s_attributes processor, local mode: from each event's or data point's
// process.linux.cgroup, the container.id and k8s.pod.uid (kubelet and runtime cgroup layouts).
// Records and data points are copied, never changed in place: fan-out shares them.
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import type { MetricData, ResourceMetrics } from '@opentelemetry/sdk-metrics';
import type { Consumer, Host, Processor, Signal, SignalData } from '../../component';
import { CgroupEnrichment } from './enrichment';

export class K8sAttributesProcessor<S extends Signal> implements Processor<S> {
  private readonly enrichment = new CgroupEnrichment();

  constructor(
    private readonly signal: S,
    private readonly next: Consumer<S>,
  ) {}

  async start(_host: Host): Promise<void> {}

  async shutdown(): Promise<void> {}

  consume(data: SignalData[S]): Promise<void> {
    if (this.signal === 'logs') {
      const records = (data as readonly ReadableLogRecord[]).map((r) => {
        const attributes = this.enrichment.enrich(r.attributes);
        return attributes === r.attributes ? r : { ...r, attributes };
      });
      return (this.next as Consumer<'logs'>).consume(records);
    }
    const metrics = data as ResourceMetrics;
    return (this.next as Consumer<'metrics'>).consume({
      resource: metrics.resource,
      scopeMetrics: metrics.scopeMetrics.map((sm) => ({ scope: sm.scope, metrics: sm.metrics.map((m) => this.enrichMetric(m)) })),
    });
  }

  private enrichMetric(metric: MetricData): MetricData {
    // Every MetricData variant has dataPoints with attributes; only those change.
    const dataPoints = (metric.dataPoints as readonly { attributes: Readonly<Record<string, unknown>> }[]).map((p) => {
      const attributes = this.enrichment.enrich(p.attributes);
      return attributes === p.attributes ? p : { ...p, attributes };
    });
    return { ...metric, dataPoints } as MetricData;
  }
}
