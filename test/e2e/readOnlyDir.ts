// A folder nobody can write to, not even root: a read-only tmpfs mounted there (the tests run
// as root on the CI machine, where permission bits would not stop a write). Without the right
// to mount, /proc/self/fdinfo stands in: no file can be created there either.
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface ReadOnlyDir {
  path: string;
  release(): Promise<void>;
}

export async function readOnlyDir(dir: string): Promise<ReadOnlyDir> {
  mkdirSync(dir, { recursive: true });
  try {
    await run('mount', ['-t', 'tmpfs', '-o', 'ro,size=64k', 'tmpfs', dir]);
  } catch {
    return { path: '/proc/self/fdinfo', release: async () => {} };
  }
  try {
    writeFileSync(path.join(dir, 'probe'), 'x');
    throw new Error(`${dir} is writable although mounted read-only`);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EROFS') throw err;
  }
  return { path: dir, release: async () => { await run('umount', [dir]).catch(() => undefined); } };
}
