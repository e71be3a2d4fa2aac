// Bytes a registry's filesystem storage holds: what a restore wrote into it.
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';

export async function dirBytes(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) total += (await stat(path.join(entry.parentPath, entry.name))).size;
  }
  return total;
}
