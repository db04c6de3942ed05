// The bridge attaches cgroup programs: a sockops program on a test cgroup sees the RTT of a
// connection made from inside that cgroup (the measured alternative to tcp_rtt's hook).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BpfObject } from '../../src/bridge/bpf_object';
import { PACKAGE_ROOT } from '../../src/paths';
import { kernelBucketUpperBoundsUs } from '../../src/receivers/tcp_rtt/buckets';
import { TestCgroup, testCgroupBase } from '../support/cgroup';
import { DIST_ROOT, startChild, type RunningChild } from '../support/child';
import { requireKernel } from '../support/kernel';

test('a sockops program attached to a cgroup counts RTT callbacks of that cgroup\'s connections', async (t) => {
  if (!requireKernel(t)) return;
  const dir = mkdtempSync(join(tmpdir(), 'tcpscope-sockops-'));
  const base = testCgroupBase('sockops');
  const cgroup = TestCgroup.create(`${base}/app`);
  const children: RunningChild[] = [];
  let bpf: BpfObject | undefined;
  t.after(() => {
    for (const c of children) c.kill();
    bpf?.close();
    cgroup.remove(base);
    rmSync(dir, { recursive: true, force: true });
  });
  const object = join(dir, 'rtt_sockops.bpf.o');
  execFileSync('clang', ['-target', 'bpf', '-O2', '-g', '-D__TARGET_ARCH_x86', `-I${join(PACKAGE_ROOT, 'build', 'bpf')}`, `-I${join(PACKAGE_ROOT, 'bpf')}`,
    '-c', join(PACKAGE_ROOT, 'bench', 'bpf', 'rtt_sockops.bpf.c'), '-o', object]);
  bpf = BpfObject.openAndLoad(object, (o) => {
    const upper = kernelBucketUpperBoundsUs();
    const table = Buffer.alloc(8 * upper.length);
    upper.forEach((u, i) => table.writeBigUInt64LE(u, 8 * i));
    o.setGlobal('cfg_bucket_upper_us', table);
  });
  bpf.attachToCgroup('rtt_sockops', cgroup.directory);

  const peer = join(DIST_ROOT, 'test', 'support', 'pingpong_peer.js');
  const server = startChild(cgroup.wrap([process.execPath, peer, 'server', '127.0.0.1']));
  children.push(server);
  const { port } = await server.nextJson<{ port: number }>();
  const client = startChild(cgroup.wrap([process.execPath, peer, 'client', '127.0.0.1', String(port), '100']));
  children.push(client);
  await client.nextJson();

  const entries = bpf.readMap('rtt_sockops_histogram');
  let count = 0n;
  for (let cpu = 0; cpu < entries.cpus; cpu++) count += entries.value(0, cpu).readBigUInt64LE(0);
  // One RTT measurement per acknowledged request (client) and response (server), give or take
  // the handshake's and the first segment's.
  assert.ok(count >= 190n && count <= 210n, `${count} RTT callbacks for 100 round trips on two sockets`);
});
