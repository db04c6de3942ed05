// The documentation stands alone: every relative link in a Markdown file of the repository leads
// to a file that exists (and, with a #fragment, to a heading in it), and no file cites the
// design guide the project was started from, which is not part of the repository.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { PACKAGE_ROOT } from '../src/paths';

const SKIPPED_DIRS = new Set(['.git', 'node_modules', 'dist', 'build']);
const TEXT_FILE = /\.(md|ts|js|c|h|yaml|yml|json|sh|gyp)$|^Makefile$|^tcpscope$|^run$/;

function repositoryFiles(dir = PACKAGE_ROOT): string[] {
  const files: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) {
      if (!SKIPPED_DIRS.has(entry.name)) files.push(...repositoryFiles(join(dir, entry.name)));
    } else if (entry.isFile() && TEXT_FILE.test(entry.name) && entry.name !== 'package-lock.json') {
      files.push(join(dir, entry.name));
    }
  }
  return files;
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens, -1, -2 for repeats. */
function headingAnchors(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const line of withoutFencedBlocks(markdown).split('\n')) {
    const heading = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!heading) continue;
    const slug = heading[1]
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const n = seen.get(slug) ?? 0;
    seen.set(slug, n + 1);
    anchors.add(n === 0 ? slug : `${slug}-${n}`);
  }
  return anchors;
}

function withoutFencedBlocks(markdown: string): string {
  return markdown.replace(/^```[\s\S]*?^```/gm, '');
}

/** Links inside code are examples, not links. */
function withoutCodeBlocks(markdown: string): string {
  return withoutFencedBlocks(markdown).replace(/`[^`\n]*`/g, '');
}

test('headingAnchors follows GitHub: punctuation dropped, repeats numbered', () => {
  assert.deepEqual(
    [...headingAnchors('# A b\n## RTT histograms (tcp_rtt)\n### `basic`\n## Push-down into the kernel\n## A b\n```\n# not a heading\n```\n')],
    ['a-b', 'rtt-histograms-tcp_rtt', 'basic', 'push-down-into-the-kernel', 'a-b-1'],
  );
});

test('every relative link in the Markdown files leads to an existing file and heading', () => {
  const broken: string[] = [];
  const markdownFiles = repositoryFiles().filter((f) => f.endsWith('.md'));
  assert.ok(markdownFiles.length >= 10, `found the repository's Markdown files (${markdownFiles.length})`);
  for (const file of markdownFiles) {
    const text = withoutCodeBlocks(readFileSync(file, 'utf8'));
    for (const match of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      const target = match[1];
      if (/^[a-z]+:/i.test(target)) continue; // https:, mailto:
      const [path, fragment] = target.split('#', 2);
      const resolved = path === '' ? file : resolve(dirname(file), path);
      const where = `${relative(PACKAGE_ROOT, file)}: (${target})`;
      if (!existsSync(resolved)) {
        broken.push(`${where}: no such file`);
        continue;
      }
      if (fragment && statSync(resolved).isFile() && resolved.endsWith('.md') && !headingAnchors(readFileSync(resolved, 'utf8')).has(fragment)) {
        broken.push(`${where}: no heading #${fragment}`);
      }
    }
  }
  assert.deepEqual(broken, []);
});

test('no file cites a document outside the repository', () => {
  const guide = ['DESIGN', 'md'].join('.'); // spelled apart so this file does not match itself
  const citing = repositoryFiles()
    .filter((f) => readFileSync(f, 'utf8').includes(guide))
    .map((f) => relative(PACKAGE_ROOT, f));
  assert.deepEqual(citing, []);
});
