// Creates the directories above the exporter's file, one at a time, so that a failure names the
// directory that could not be made and the kernel's errno for it. Node's mkdir({recursive: true})
// reports EEXIST when an ancestor is a regular file (the right answer is ENOTDIR) and loops
// without end under /proc, where mkdir fails with ENOENT however often it is retried.
import { mkdir, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

export async function makeParentDirectory(file: string): Promise<void> {
  const missing: string[] = [];
  // Bounded by the number of components of the path: each step goes one directory up.
  for (let dir = dirname(resolve(file)); ; dir = dirname(dir)) {
    let isDirectory: boolean;
    try {
      isDirectory = (await stat(dir)).isDirectory();
    } catch (error) {
      // ENOTDIR: something above is a file; going up finds it and names it.
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw error;
      missing.push(dir);
      if (dir === dirname(dir)) break;
      continue;
    }
    if (!isDirectory) {
      throw Object.assign(new Error(`ENOTDIR: not a directory, mkdir '${missing.at(-1) ?? dir}' (${dir} is a file)`), {
        code: 'ENOTDIR',
        path: dir,
      });
    }
    break;
  }
  for (const dir of missing.reverse()) {
    try {
      await mkdir(dir);
    } catch (error) {
      // Made in the meantime by someone else: what we wanted.
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
}
