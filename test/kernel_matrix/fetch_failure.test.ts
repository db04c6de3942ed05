// The kernel matrix fails loudly when a kernel cannot be fetched (CI must never pass with a line
// silently left out): Debian's archive stood in for by a loopback server that has nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../../src/paths';
import { isCi } from '../support/kernel';

const SCRIPT = join(PACKAGE_ROOT, 'scripts', 'kernel-matrix.sh');

function which(tool: string): boolean {
  return (process.env.PATH ?? '').split(':').some((dir) => {
    try {
      return statSync(join(dir, tool)).isFile();
    } catch {
      return false;
    }
  });
}

test('a kernel that cannot be fetched fails the matrix with a message naming the suite', async (t) => {
  const missing = ['qemu-system-x86_64', 'busybox', 'apt-get', 'cpio'].filter((tool) => !which(tool));
  if (missing.length > 0 || process.getuid?.() !== 0) {
    const reason = missing.length > 0 ? `missing ${missing.join(', ')} (scripts/setup.sh installs them)` : 'apt-get update needs root';
    if (isCi(process.env.CI)) throw new Error(`the kernel matrix cannot run in CI: ${reason}`);
    t.skip(reason);
    return;
  }
  let requests = 0;
  const archive: Server = createServer((_, response) => {
    requests++;
    response.writeHead(404).end();
  });
  await new Promise<void>((resolve) => archive.listen(0, '127.0.0.1', resolve));
  const cache = mkdtempSync(join(tmpdir(), 'tcpscope-kernel-cache-'));
  t.after(() => {
    archive.close();
    rmSync(cache, { recursive: true, force: true });
  });
  const { port } = archive.address() as AddressInfo;
  const child = spawn('bash', [SCRIPT, '--lines', '6.1', '--fetch-only'], {
    env: { ...process.env, CI: 'true', TCPSCOPE_KERNEL_CACHE: cache, TCPSCOPE_DEBIAN_MIRROR: `http://127.0.0.1:${port}` },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const deadline = setTimeout(() => child.kill('SIGKILL'), 90_000);
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  clearTimeout(deadline);
  assert.equal(code, 1, stderr);
  assert.match(stderr, /kernel-matrix: cannot read Debian's bookworm index \(above\): the bookworm kernel cannot be fetched/);
  assert.ok(requests > 0, 'apt asked the stand-in archive');
});
