// tcp_handshake's raw-bytes records against the decoded path on real attempts: successful
// connects and accepts (IPv4 and IPv6, a kubelet-style pod cgroup on the server side) and refused
// connects (blocking, whose local port the kernel has already released, and non-blocking) give the
// generic path's OTLP/JSON bytes for the record the decoded path (decodeHandshakeEvent +
// handshakeLogRecord) makes of the same bytes, alone and after k8s_attributes (local mode) and
// sampling run on both streams; and the otlp exporter's protobuf (the records' own otlpProto)
// byte for byte as the generic encoder and the SDK serializer write it for the decoded records,
// decoded with the official OTLP protos to the same message, field for field.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { FanoutConsumer } from '../../src/pipeline/fanout';
import { encodeLogsRequest, encodeLogsRequestGeneric } from '../../src/exporters/file/otlp_json';
import type { MonotonicClock } from '../../src/host/monotonic_clock';
import { PACKAGE_ROOT } from '../../src/paths';
import { k8sAttributesProcessorFactory } from '../../src/processors/k8s_attributes/factory';
import { SamplingProcessor } from '../../src/processors/sampling/processor';
import { decodeHandshakeEvent } from '../../src/receivers/tcp_handshake/decoder';
import { EVENT_SIZE } from '../../src/receivers/tcp_handshake/layout';
import { handshakeLogRecord } from '../../src/receivers/tcp_handshake/log_records';
import { HandshakeRawLogRecord } from '../../src/receivers/tcp_handshake/raw_log_record';
import { TcpHandshakeReceiver } from '../../src/receivers/tcp_handshake/receiver';
import { isOtlpJsonLogRecord, isOtlpProtoLogRecord } from '../../src/telemetry/otlp_encodable';
import { OtlpLogsProtoEncoder } from '../../src/telemetry/otlp_proto_logs';
import { TestCgroup, testCgroupBase } from '../support/cgroup';
import { DEADLINE_MS, startChild, TCP_PEER, waitUntil, type RunningChild } from '../support/child';
import { HANDSHAKE_TEST_CONFIG } from '../support/handshake';
import { k8sAttributesConfig } from '../support/k8s_fixture';
import { assertSameLogsProto } from '../support/otlp_logs_proto';
import { requireKernel } from '../support/kernel';
import { RecordingLogsConsumer } from '../support/recording_consumer';
import { testSettings } from '../support/settings';

const PROBE = join(PACKAGE_ROOT, 'test', 'support', 'connect_probe.py');
const CONTAINER_ID = 'd1'.repeat(32);
const POD_UID = '1a1b2c3d-1111-4222-8333-444455556666';
const SAMPLING = { keep_errors: true, combine: 'any' as const, policies: [{ hash: { ratio: 0.5 } }] };
// A TCP port bound and kept but never listened on: connects to it are refused (RST).
const BOUND_PORT = 'import json, socket, sys, time\ns = socket.socket()\ns.bind(("127.0.0.1", 0))\nprint(json.dumps({"port": s.getsockname()[1]}), flush=True)\ntime.sleep(3600)';

test('real handshakes and refused connects: the raw path writes the generic path bytes (OTLP/JSON and protobuf), alone and after k8s_attributes and sampling', async (t) => {
  if (!requireKernel(t)) return;
  const base = testCgroupBase('rawhs');
  const serverCgroup = TestCgroup.create(`${base}/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${POD_UID.replace(/-/g, '_')}.slice/cri-containerd-${CONTAINER_ID}.scope`);
  const clientCgroup = TestCgroup.create(`${base}/client`);
  const children: RunningChild[] = [];
  const k8sConfig = k8sAttributesConfig({ auth_type: 'none' });
  const raw = new RecordingLogsConsumer();
  const rawProcessed = new RecordingLogsConsumer();
  const rawK8s = k8sAttributesProcessorFactory.create(testSettings('k8s_attributes'), k8sConfig, 'logs', new SamplingProcessor(SAMPLING, rawProcessed));
  const referenceProcessed = new RecordingLogsConsumer();
  const referenceK8s = k8sAttributesProcessorFactory.create(testSettings('k8s_attributes'), k8sConfig, 'logs', new SamplingProcessor(SAMPLING, referenceProcessed));
  const receiver = new TcpHandshakeReceiver(testSettings('tcp_handshake'), HANDSHAKE_TEST_CONFIG, { logs: new FanoutConsumer<'logs'>([raw, rawK8s]) });
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

  const bound = startChild(['python3', '-c', BOUND_PORT]);
  children.push(bound);
  const { port: refusedPort } = await bound.nextJson<{ port: number }>();
  const server = startChild(serverCgroup.wrap([process.execPath, TCP_PEER, 'server', '10', 'client-first']));
  children.push(server);
  const ports = await server.nextJson<{ v4: number; v6: number }>();
  for (const [host, port] of [['127.0.0.1', ports.v4], ['::1', ports.v6]] as const) {
    const client = startChild(clientCgroup.wrap([process.execPath, TCP_PEER, 'client', host, String(port), '3', '10', '0', 'client-first']));
    children.push(client);
    assert.deepEqual(await client.nextJson(), { done: 3 });
  }
  for (const mode of ['blocking', 'nonblocking', 'blocking']) {
    const probe = startChild(clientCgroup.wrap(['python3', PROBE, '127.0.0.1', String(refusedPort), mode, '5']));
    children.push(probe);
    assert.equal((await probe.nextJson<{ error: string }>()).error, 'ECONNREFUSED', `${mode} connect refused`);
  }

  const cgroupOf = (r: ReadableLogRecord) => r.attributes['process.linux.cgroup'];
  const ours = (r: ReadableLogRecord) => cgroupOf(r) === serverCgroup.attribute || cgroupOf(r) === clientCgroup.attribute;
  const named = (name: string) => raw.records.filter((r) => ours(r) && r.eventName === name);
  await waitUntil(() => named('tcp.connect').length >= 9 && named('tcp.accept').length >= 6, DEADLINE_MS, 'every attempt');
  await receiver.shutdown();

  const records = raw.records.filter(ours);
  const refused = records.filter((r) => r.attributes['error.type'] === 'ECONNREFUSED');
  assert.deepEqual({ connect: named('tcp.connect').length, accept: named('tcp.accept').length, refused: refused.length }, { connect: 9, accept: 6, refused: 3 });
  assert.ok(records.every((r) => r instanceof HandshakeRawLogRecord), 'the receiver emits raw-bytes records');

  // The decoded path's record for the same bytes, with the raw record's time (the conversion is
  // tested with fixed clocks in raw_log_record.test.ts; here the clock moves in between).
  const reference = (r: ReadableLogRecord): ReadableLogRecord => {
    assert.ok(r instanceof HandshakeRawLogRecord);
    const clock = { toHrTime: () => r.hrTime } as unknown as MonotonicClock;
    const context = { resource: r.resource, scope: r.instrumentationScope, clock, cgroups: receiver.cgroups };
    return handshakeLogRecord(decodeHandshakeEvent(r.batch.bytes, r.offset, EVENT_SIZE), context, r.hrTimeObserved);
  };
  assert.equal(encodeLogsRequest(records), encodeLogsRequestGeneric(records.map(reference)), 'receiver output');
  // The otlp exporter's protobuf: the records write their own (otlpProto), byte for byte what the
  // generic encoder and the SDK serializer write for the decoded records, and the same message
  // decoded with the official OTLP protos.
  const encoder = new OtlpLogsProtoEncoder();
  assertSameLogsProto(records, records.map(reference), encoder);

  await referenceK8s.consume(raw.records.map(reference));
  const processed = rawProcessed.records.filter(ours);
  assert.ok(processed.every(isOtlpJsonLogRecord), 'enriched and sampled records still encode themselves');
  assert.equal(processed.filter((r) => r.attributes['error.type'] === 'ECONNREFUSED').length, 3, 'keep_errors keeps every refused connect');
  assert.ok(processed.filter((r) => cgroupOf(r) === serverCgroup.attribute).every((r) => r.attributes['container.id'] === CONTAINER_ID));
  assert.equal(encodeLogsRequest(processed), encodeLogsRequestGeneric(referenceProcessed.records.filter(ours)), 'after k8s_attributes and sampling');
  assert.ok(processed.every(isOtlpProtoLogRecord), 'enriched and sampled records still write their own protobuf');
  assertSameLogsProto(processed, referenceProcessed.records.filter(ours), encoder);
});
