// The file exporter's directory creation: one level at a time, each failure with the errno of
// the directory that could not be made.
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { makeParentDirectory } from './parent_directory';

describe('makeParentDirectory', () => {
  const withDir = async (body: (dir: string) => Promise<void>) => {
    const dir = mkdtempSync(join(tmpdir(), 'tcpscope-parent-'));
    try {
      await body(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };

  it('creates every missing level', () =>
    withDir(async (dir) => {
      await makeParentDirectory(join(dir, 'a', 'b', 'c', 'out.jsonl'));
      assert.ok(statSync(join(dir, 'a', 'b', 'c')).isDirectory());
      await makeParentDirectory(join(dir, 'a', 'b', 'c', 'out.jsonl')); // already there: fine
    }));

  it('reports ENOTDIR, not EEXIST, when an ancestor is a regular file', () =>
    withDir(async (dir) => {
      writeFileSync(join(dir, 'plain'), '');
      for (const file of [join(dir, 'plain', 'out.jsonl'), join(dir, 'plain', 'x', 'y', 'out.jsonl')]) {
        await assert.rejects(makeParentDirectory(file), (error: NodeJS.ErrnoException) => {
          assert.equal(error.code, 'ENOTDIR');
          assert.equal(error.path, join(dir, 'plain'));
          return true;
        });
      }
    }));

  it('fails with ENOENT under /proc instead of looping (a recursive mkdir retries there forever)', async () => {
    await assert.rejects(makeParentDirectory('/proc/self/no-such-dir/x/out.jsonl'), { code: 'ENOENT' });
  });
});
