// The k8s_attributes processor: names each event's and data point's local side (from its
// process.linux.cgroup) and peer side (from its network.peer.address). One processor runs per
// pipeline; the cluster view behind them is shared per processor id (see shared_view.ts).
// Records and data points are copied, never changed in place: fan-out shares them.
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import type { MetricData, ResourceMetrics } from '@opentelemetry/sdk-metrics';
import type { Consumer, Host, Processor, Signal, SignalData } from '../../component';
import type { ClusterView } from './cluster_view';
import type { Enrichment } from './enrichment';
import type { SharedViewLease } from './shared_view';

export class K8sAttributesProcessor<S extends Signal> implements Processor<S> {
  constructor(
    private readonly signal: S,
    private readonly next: Consumer<S>,
    private readonly lease: SharedViewLease,
  ) {}

  /** What the processor knows of the cluster (absent in local mode): for diagnostics and tests. */
  get clusterView(): ClusterView | undefined {
    return this.lease.view;
  }

  private get enrichment(): Enrichment {
    return this.lease.enrichment;
  }

  async start(_host: Host): Promise<void> {
    this.lease.start();
  }

  /** Idempotent: the lease is released once. */
  async shutdown(): Promise<void> {
    await this.lease.release();
  }

  consume(data: SignalData[S]): Promise<void> {
    if (this.signal === 'logs') {
      const enrichment = this.enrichment;
      const records = (data as readonly ReadableLogRecord[]).map((r) => enrichment.enrichRecord(r));
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
