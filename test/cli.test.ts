// The command line's contract with a person or a script: usage and exit codes (0 done, 1
// failed with the reason on stderr, 2 wrong flags), without a stack (the work itself, through
// the executable, is in test/e2e/airGapped.test.ts).
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { run } from '../cli/run.js';

/** The command line in-process (main.ts is this and process.exitCode), its output collected. */
async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = { stdout: '', stderr: '' };
  const sink = (key: 'stdout' | 'stderr') => new Writable({ write(chunk: Buffer, _e, cb) { out[key] += chunk.toString(); cb(); } });
  const code = await run(args, { stdout: sink('stdout'), stderr: sink('stderr'), env: {} });
  return { code, ...out };
}

test('lists its commands, and each command\'s flags', async () => {
  const top = await cli(['--help']);
  expect(top.code).toBe(0);
  expect(top.stdout).toMatch(/^\s+export\s/m);
  expect(top.stdout).toMatch(/^\s+import\s/m);
  const exp = await cli(['export', '--help']);
  expect(exp.code).toBe(0);
  for (const flag of ['--backup <name>', '--output <file>', '--location <name>', '--bucket <name>', '--credentials <file>', '--ca-cert <file>']) expect(exp.stdout).toContain(flag);
});

test('wrong flags exit 2 with the reason and the usage; the work failing exits 1 with the reason', async () => {
  const unknown = await cli(['frobnicate']);
  expect(unknown.code).toBe(2);
  expect(unknown.stderr).toContain('unknown command "frobnicate"');
  const missing = await cli(['export', '--output', 'x.tar', '--bucket', 'b']);
  expect(missing.code).toBe(2);
  expect(missing.stderr).toContain('--backup is required');
  const both = await cli(['import', '--input', 'x.tar', '--registry', 'r:5000', '--bucket', 'b']);
  expect(both.code).toBe(2);
  expect(both.stderr).toContain('either --registry or a location');
  const dir = await mkdtemp(path.join(tmpdir(), 'cli-'));
  try {
    const notTar = path.join(dir, 'not.tar');
    await writeFile(notTar, 'x'.repeat(2048));
    const bad = await cli(['import', '--input', notTar, '--registry', '127.0.0.1:1']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/not a readable OCI image layout archive: .*wrong checksum/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
