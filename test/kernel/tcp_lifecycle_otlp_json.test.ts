// The raw-bytes event path against the decoded one on real connections: every tcp_lifecycle
// record the kernel sent (connect, accept, close; IPv4 and IPv6; a kubelet-style pod cgroup and a
// plain one) is written by the file exporter's encoder byte for byte as the generic transformer
// path writes the record the decoded path (decodeLifecycleEvent + lifecycleLogRecord) makes of
// the same bytes; and again after k8s_attributes (local mode) and the sampling processor, run on
// both streams. The same records give the otlp exporter's protobuf (their own otlpProto) byte for
// byte as the generic encoder and the SDK serializer write it for the decoded records, decoded
// with the official OTLP protos to the same message, field for field.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { FanoutConsumer } from '../../src/pipeline/fanout';
import type { MonotonicClock } from '../../src/host/monotonic_clock';
import { encodeLogsRequest, encodeLogsRequestGeneric } from '../../src/exporters/file/otlp_json';
import { k8sAttributesProcessorFactory } from '../../src/processors/k8s_attributes/factory';
import { SamplingProcessor } from '../../src/processors/sampling/processor';
import { decodeLifecycleEvent } from '../../src/receivers/tcp_lifecycle/decoder';
import { EVENT_SIZE } from '../../src/receivers/tcp_lifecycle/layout';
import { lifecycleLogRecord } from '../../src/receivers/tcp_lifecycle/log_records';
import { LifecycleRawLogRecord } from '../../src/receivers/tcp_lifecycle/raw_log_record';
import { TcpLifecycleReceiver } from '../../src/receivers/tcp_lifecycle/receiver';
import { isOtlpJsonLogRecord, isOtlpProtoLogRecord } from '../../src/telemetry/otlp_encodable';
import { OtlpLogsProtoEncoder } from '../../src/telemetry/otlp_proto_logs';
import { TestCgroup, testCgroupBase } from '../support/cgroup';
import { DEADLINE_MS, startChild, TCP_PEER, waitUntil, type RunningChild } from '../support/child';
import { k8sAttributesConfig } from '../support/k8s_fixture';
import { assertSameLogsProto } from '../support/otlp_logs_proto';
import { requireKernel } from '../support/kernel';
import { LIFECYCLE_TEST_CONFIG } from '../support/lifecycle';
import { RecordingLogsConsumer } from '../support/recording_consumer';
import { testSettings } from '../support/settings';

const CONTAINER_ID = 'c0'.repeat(32);
const POD_UID = '0a1b2c3d-1111-4222-8333-444455556666';
const SAMPLING = { keep_errors: true, combine: 'any' as const, policies: [{ hash: { ratio: 0.5 } }] };

test('real connections: the raw path writes the generic path bytes (OTLP/JSON and protobuf), alone and after k8s_attributes and sampling', async (t) => {
  if (!requireKernel(t)) return;
  const base = testCgroupBase('rawjson');
  const serverCgroup = TestCgroup.create(`${base}/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${POD_UID.replace(/-/g, '_')}.slice/cri-containerd-${CONTAINER_ID}.scope`);
  const clientCgroup = TestCgroup.create(`${base}/client`);
  const children: RunningChild[] = [];
  const k8sConfig = k8sAttributesConfig({ auth_type: 'none' });
  // The raw stream as the receiver emits it, and after k8s_attributes -> sampling.
  const raw = new RecordingLogsConsumer();
  const rawProcessed = new RecordingLogsConsumer();
  const rawK8s = k8sAttributesProcessorFactory.create(testSettings('k8s_attributes'), k8sConfig, 'logs', new SamplingProcessor(SAMPLING, rawProcessed));
  // The decoded reference stream goes through processors of its own.
  const referenceProcessed = new RecordingLogsConsumer();
  const referenceK8s = k8sAttributesProcessorFactory.create(testSettings('k8s_attributes'), k8sConfig, 'logs', new SamplingProcessor(SAMPLING, referenceProcessed));
  const receiver = new TcpLifecycleReceiver(testSettings('tcp_lifecycle'), LIFECYCLE_TEST_CONFIG, { logs: new FanoutConsumer<'logs'>([raw, rawK8s]) });
  t.after(async () => {
    for (const c of children) c.kill();
    try {
      await receiver.shutdown();
      await rawK8s.shutdown();
      await referenceK8s.shutdown();
    } finally {
      clientCgroup.remove();
      serverCgroup.remove(base);
    }
  });
  await rawK8s.start({ reportFatal: (e) => assert.fail(e) });
  await referenceK8s.start({ reportFatal: (e) => assert.fail(e) });
  await receiver.start({ reportFatal: (e) => assert.fail(e) });

  const server = startChild(serverCgroup.wrap([process.execPath, TCP_PEER, 'server', '700', 'client-first']));
  children.push(server);
  const ports = await server.nextJson<{ v4: number; v6: number; dual: number }>();
  const runs = [
    { host: '127.0.0.1', port: ports.v4, count: 6 },
    { host: '::1', port: ports.v6, count: 6 },
    { host: '::ffff:127.0.0.1', port: ports.dual, count: 4 },
  ];
  for (const run of runs) {
    const client = startChild(clientCgroup.wrap([process.execPath, TCP_PEER, 'client', run.host, String(run.port), String(run.count), '300', '0', 'client-first']));
    children.push(client);
    assert.deepEqual(await client.nextJson(), { done: run.count });
  }
  const total = runs.reduce((n, r) => n + r.count, 0);
  const cgroupOf = (r: ReadableLogRecord) => r.attributes['process.linux.cgroup'];
  const ours = (r: ReadableLogRecord) => cgroupOf(r) === serverCgroup.attribute || cgroupOf(r) === clientCgroup.attribute;
  const mine = () => raw.records.filter(ours);
  await waitUntil(() => mine().filter((r) => r.eventName === 'tcp.close').length >= 2 * total, DEADLINE_MS, 'every close');
  await receiver.shutdown();

  const records = mine();
  const count = (name: string) => records.filter((r) => r.eventName === name).length;
  assert.deepEqual({ connect: count('tcp.connect'), accept: count('tcp.accept'), close: count('tcp.close') }, { connect: total, accept: total, close: 2 * total });
  assert.ok(records.every((r) => r instanceof LifecycleRawLogRecord), 'the receiver emits raw-bytes records');
  assert.deepEqual(new Set(records.map((r) => r.attributes['network.type'])), new Set(['ipv4', 'ipv6']));

  // The decoded path's record for the same bytes. Its hrTime is the raw record's: the conversion of
  // the kernel timestamp is tested against MonotonicClock with fixed clocks (raw_log_record.test.ts);
  // here the clock moves between the two conversions.
  const reference = (r: ReadableLogRecord): ReadableLogRecord => {
    assert.ok(r instanceof LifecycleRawLogRecord);
    const clock = { toHrTime: () => r.hrTime } as unknown as MonotonicClock;
    const context = { resource: r.resource, scope: r.instrumentationScope, clock, cgroups: receiver.cgroups };
    return lifecycleLogRecord(decodeLifecycleEvent(r.batch.bytes, r.offset, EVENT_SIZE), context, r.hrTimeObserved);
  };
  const references = records.map(reference);
  assert.equal(encodeLogsRequest(records), encodeLogsRequestGeneric(references), 'receiver output');
  // The otlp exporter's protobuf: the records write their own (otlpProto), byte for byte what the
  // generic encoder and the SDK serializer write for the decoded records, and the same message
  // decoded with the official OTLP protos.
  const encoder = new OtlpLogsProtoEncoder();
  assertSameLogsProto(records, references, encoder);

  // Both streams through their own k8s_attributes -> sampling, batch by batch as they arrived.
  await referenceK8s.consume(raw.records.map(reference));
  const processed = rawProcessed.records.filter(ours);
  const processedReference = referenceProcessed.records.filter(ours);
  assert.ok(processed.length > 0 && processed.length < records.length, `sampling kept ${processed.length} of ${records.length}`);
  assert.ok(processed.every(isOtlpJsonLogRecord), 'enriched and sampled records still encode themselves');
  const enrichedServer = processed.filter((r) => cgroupOf(r) === serverCgroup.attribute);
  assert.ok(enrichedServer.length > 0 && enrichedServer.every((r) => r.attributes['container.id'] === CONTAINER_ID && r.attributes['k8s.pod.uid'] === POD_UID), 'the pod side is enriched');
  assert.equal(encodeLogsRequest(processed), encodeLogsRequestGeneric(processedReference), 'after k8s_attributes and sampling');
  assert.ok(processed.every(isOtlpProtoLogRecord), 'enriched and sampled records still write their own protobuf');
  assertSameLogsProto(processed, processedReference, encoder);
});
