// End to end, kept true: SIGKILL gives the agent no chance to clean up, yet nothing of it may stay
// in the kernel. Its programs, maps and links live only as long as file descriptors (nothing is
// pinned), so the kernel frees them all when the process dies. Checked by the ids the agent held.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { agentArgv, startAgent, testDir, writeAgentConfig } from '../support/agent';
import { waitUntil, type RunningChild } from '../support/child';
import { requireKernel } from '../support/kernel';

type Kind = 'prog' | 'map' | 'link';
const KINDS: readonly Kind[] = ['prog', 'map', 'link'];

/** The BPF object ids a process holds, from the fdinfo of its bpf file descriptors. */
function heldIds(pid: number): Record<Kind, Set<number>> {
  const held: Record<Kind, Set<number>> = { prog: new Set(), map: new Set(), link: new Set() };
  for (const fd of readdirSync(`/proc/${pid}/fdinfo`)) {
    let info: string;
    try {
      info = readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8');
    } catch {
      continue; // closed meanwhile
    }
    for (const kind of KINDS) {
      const match = new RegExp(`^${kind}_id:\\s+(\\d+)$`, 'm').exec(info);
      if (match) held[kind].add(Number(match[1]));
    }
  }
  return held;
}

/** Ids of the objects of one kind that exist in the kernel now. */
function liveIds(kind: Kind): Set<number> {
  const list = JSON.parse(execFileSync('bpftool', ['-j', kind, 'show'], { encoding: 'utf8' }) || '[]') as { id: number }[];
  return new Set(list.map((entry) => entry.id));
}

function pinned(): string[] {
  return existsSync('/sys/fs/bpf') ? readdirSync('/sys/fs/bpf') : [];
}

test('SIGKILL of the agent leaves no BPF program, map or link behind, and pins nothing', async (t) => {
  if (!requireKernel(t)) return;
  const children: RunningChild[] = [];
  t.after(() => {
    for (const c of children) c.kill();
  });
  const dir = testDir(t, 'tcpscope-sigkill');
  const config = writeAgentConfig(dir, {
    receivers: { tcp_lifecycle: null, tcp_handshake: null, tcp_rtt: null },
    exporters: { file: { path: join(dir, 'out.jsonl') } },
    pipelines: {
      metrics: { receivers: ['tcp_lifecycle', 'tcp_handshake', 'tcp_rtt'], exporters: ['file'] },
      logs: { receivers: ['tcp_lifecycle', 'tcp_handshake'], exporters: ['file'] },
    },
  });
  const pinsBefore = pinned();

  const agent = await startAgent(children, agentArgv(config), { ready: (stderr) => stderr.includes('running 2 pipeline'), what: 'the agent to start', timeoutMs: 30_000 });
  const held = heldIds(agent.pid);
  // Three objects, each with programs, maps and (for tp_btf/tracepoint attachments) links.
  assert.ok(held.prog.size >= 3 && held.map.size >= 3 && held.link.size >= 3, `held: ${JSON.stringify({ prog: [...held.prog], map: [...held.map], link: [...held.link] })}`);
  for (const kind of KINDS) {
    const live = liveIds(kind);
    assert.ok([...held[kind]].every((id) => live.has(id)), `every ${kind} the agent holds is visible to bpftool`);
  }
  assert.deepEqual(pinned(), pinsBefore, 'nothing pinned');

  agent.process.kill('SIGKILL');
  assert.equal(await agent.exited(10_000), null, 'killed, not exited');
  // The kernel frees them asynchronously (RCU, deferred work): wait for it, boundedly.
  const leftover = () => KINDS.flatMap((kind) => {
    const live = liveIds(kind);
    return [...held[kind]].filter((id) => live.has(id)).map((id) => `${kind} ${id}`);
  });
  await waitUntil(() => leftover().length === 0, 30_000, 'the kernel to free the agent\'s BPF objects');
  assert.deepEqual(leftover(), []);
  assert.deepEqual(pinned(), pinsBefore);
});
