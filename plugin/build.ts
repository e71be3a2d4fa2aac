// Builds the plugin as one executable that needs no Node.js installed: esbuild bundles
// plugin/main.ts (with the compiled .proto descriptors) into one CommonJS script, Node's
// single-executable-application flow turns it into a blob (with V8's code cache, so a start
// compiles nothing), and postject injects the blob into a copy of this Node binary (stripped of
// its debug symbols when `strip` is there). `npm run build:plugin`; the tests call
// ensurePluginBuilt(), which rebuilds only when an input changed since the last build.
import { execFile } from 'node:child_process';
import { chmod, copyFile, mkdir, mkdtemp, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { compileDescriptorSet, PROTO_FILES } from './protocol.js';

const run = promisify(execFile);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outDir = path.join(root, 'dist', 'plugin');
export const PLUGIN_BINARY = path.join(outDir, 'velero-plugin-for-imagestreams');
const INPUTS_FILE = path.join(outDir, 'inputs.json');
const protoDir = path.join(root, 'plugin', 'proto');
/** Node's fuse for single executable applications (the same in every Node release that has them). */
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

const postjectCli = createRequire(import.meta.url).resolve('postject/dist/cli.js');

export interface BuildResult {
  binary: string;
  bytes: number;
  ms: number;
}

export async function buildPlugin(): Promise<BuildResult> {
  const t0 = Date.now();
  await mkdir(outDir, { recursive: true });
  // Everything goes to a folder of its own, then one rename: a build running at the same time
  // (two test files) or an interrupted one never leaves a half-written executable in place.
  const work = await mkdtemp(path.join(outDir, '.build-'));
  try {
    const script = path.join(work, 'main.cjs');
    const bundled = await build({
      entryPoints: [path.join(root, 'plugin', 'main.ts')],
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node24',
      outfile: script,
      minifyWhitespace: true,
      minifySyntax: true,
      legalComments: 'none',
      metafile: true,
      logLevel: 'error',
      define: { __PLUGIN_DESCRIPTOR_SET__: JSON.stringify(compileDescriptorSet(protoDir).toString('base64')) },
    });
    const blob = path.join(work, 'sea.blob');
    const config = path.join(work, 'sea-config.json');
    await writeFile(config, JSON.stringify({ main: script, output: blob, disableExperimentalSEAWarning: true, useCodeCache: true }));
    await run(process.execPath, ['--experimental-sea-config', config]);

    const binary = path.join(work, path.basename(PLUGIN_BINARY));
    await copyFile(process.execPath, binary);
    await chmod(binary, 0o755);
    await run('strip', [binary]).catch(() => undefined); // 20 MB less where binutils are installed
    // A child process, whose output (LIEF's warnings about Node's ELF notes) is shown only on failure.
    await run(process.execPath, [postjectCli, binary, 'NODE_SEA_BLOB', blob, '--sentinel-fuse', SEA_FUSE]);

    const inputs = [
      ...Object.keys(bundled.metafile.inputs).map((f) => path.resolve(root, f)),
      ...PROTO_FILES.map((f) => path.join(protoDir, f)),
      fileURLToPath(import.meta.url),
    ];
    await writeFile(path.join(work, 'inputs.json'), JSON.stringify({ node: process.version, inputs }));
    await rename(binary, PLUGIN_BINARY);
    await rename(path.join(work, 'inputs.json'), INPUTS_FILE);
    return { binary: PLUGIN_BINARY, bytes: (await stat(PLUGIN_BINARY)).size, ms: Date.now() - t0 };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** Why the executable must be built again, or undefined when it is up to date. */
export async function staleReason(): Promise<string | undefined> {
  const built = await stat(PLUGIN_BINARY).catch(() => undefined);
  if (!built) return 'not built';
  const recorded = await readFile(INPUTS_FILE, 'utf8').then((t) => JSON.parse(t) as { node: string; inputs: string[] }, () => undefined);
  if (!recorded) return 'no record of its inputs';
  if (recorded.node !== process.version) return `built with Node ${recorded.node}`;
  for (const input of recorded.inputs) {
    const s = await stat(input).catch(() => undefined);
    if (!s) return `${path.relative(root, input)} is gone`;
    if (s.mtimeMs > built.mtimeMs) return `${path.relative(root, input)} changed`;
  }
  return undefined;
}

/** The executable, built first if missing or stale (a new plugin source file is seen through the files that import it). */
export async function ensurePluginBuilt(): Promise<string> {
  if (await staleReason()) await buildPlugin();
  return PLUGIN_BINARY;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  buildPlugin().then((r) => {
    console.log(`built ${path.relative(root, r.binary)}: ${(r.bytes / 1e6).toFixed(1)} MB in ${(r.ms / 1000).toFixed(1)} s`);
  }, (err: unknown) => {
    console.error('build:plugin failed:', err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
