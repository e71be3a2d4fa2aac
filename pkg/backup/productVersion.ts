// The version recorded in each bundle: package.json's, found upward from this file so that
// it works from the sources and from dist/ alike.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: string | undefined;

export function productVersion(): string {
  if (cached) return cached;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++, dir = path.dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'imagestream-backup' && pkg.version) return (cached = pkg.version);
    } catch {
      // not here: look higher
    }
  }
  return (cached = 'unknown');
}
