// `import --input FILE`: an OCI image layout tar (this product's export, or another tool's such
// as `oras backup`) into a backup location, so that an ImageStreamsRestore restores it there,
// or straight into a registry. Digests are checked on the way in either case.
import { readFileSync } from 'node:fs';
import { importToLocation, importToRegistry, openArchive } from '../pkg/archive/index.js';
import { createRegistryClient } from '../pkg/registry/index.js';
import { formatBytes } from '../controllers/runtime/format.js';
import { UsageError, pairs, required, str, type Command, type CommandContext, type FlagValues } from './command.js';
import { LOCATION_FLAGS, namesLocation, openLocation } from './location.js';
import { progressBar } from './progressBar.js';
import type { OpenedArchive } from '../pkg/archive/openArchive.js';

export const importCommand: Command = {
  summary: 'read an OCI image layout tar into a location (for an ImageStreamsRestore) or into a registry',
  synopsis: '--input <file> (--location <bsl> [--namespace <ns>] | --bucket <b> [location flags] | --registry <host:port> [registry flags])',
  description: 'The archive of an `export` becomes the same backup (its name, image streams, tags and referrers); an archive of another '
    + 'tool (oras backup) becomes a backup named by --backup, its tags those of the image stream given by --image-stream. '
    + 'Into a location: layers go to the blob pool (those it has are skipped), the bundle last. Into a registry: each image is '
    + 'pushed to <namespace>/<imagestream> by digest, then its tags. The registry password comes from --registry-password-file '
    + 'or REGISTRY_PASSWORD, never from a flag.',
  options: {
    input: { type: 'string', valueName: 'file', help: 'the archive to read' },
    backup: { type: 'string', valueName: 'name', help: 'the backup\'s name on this side (default: the archive\'s; required for another tool\'s archive)' },
    'backup-namespace': { type: 'string', valueName: 'ns', help: 'the namespace recorded for another tool\'s archive (default openshift-adp)' },
    'image-stream': { type: 'string', valueName: 'ns/name', help: 'the image stream of images the archive names by tag alone (oras backup)' },
    json: { type: 'boolean', help: 'print the summary as one JSON object' },
    concurrency: { type: 'string', valueName: 'n', help: 'blobs (location) or images (registry) copied at once (default 4)' },
    ...LOCATION_FLAGS,
    registry: { type: 'string', valueName: 'host:port', help: 'push into this registry instead of a location' },
    'registry-ca-file': { type: 'string', valueName: 'file', help: 'CA bundle of the registry' },
    'registry-user': { type: 'string', valueName: 'name', help: 'registry user' },
    'registry-password-file': { type: 'string', valueName: 'file', help: 'file holding the registry password or token (or REGISTRY_PASSWORD)' },
    'namespace-mapping': { type: 'string', multiple: true, valueName: 'old=new', help: 'with --registry: push images of namespace old into new' },
  },
  async run(values, ctx) {
    const input = required(values, 'input');
    const toRegistry = str(values, 'registry');
    if (toRegistry && namesLocation(values)) throw new UsageError('give either --registry or a location, not both');
    if (!toRegistry && !namesLocation(values)) throw new UsageError('give where to import: --location, --bucket or --registry');
    const concurrency = str(values, 'concurrency') === undefined ? undefined : Number(str(values, 'concurrency'));
    if (concurrency !== undefined && (!Number.isInteger(concurrency) || concurrency < 1)) throw new UsageError('--concurrency must be a positive integer');
    const backupName = str(values, 'backup');
    const backupNamespace = str(values, 'backup-namespace');
    const imageStream = str(values, 'image-stream');
    if (imageStream !== undefined && !/^[a-z0-9][-a-z0-9.]*\/[^/]+$/.test(imageStream)) throw new UsageError('--image-stream must be <namespace>/<name>');
    const archive = await openArchive(input, {
      ...(backupName && { backupName }), ...(backupNamespace && { backupNamespace }), ...(imageStream && { imageStream }),
    });
    const started = Date.now();
    try {
      const summary = toRegistry
        ? await intoRegistry(archive, toRegistry, values, ctx, concurrency)
        : await intoLocation(archive, values, ctx, concurrency);
      const seconds = (Date.now() - started) / 1000;
      const bytes = archive.bundle.backup.layers.reduce((n, l) => n + l.size, 0);
      ctx.stdout.write(values.json
        ? `${JSON.stringify({ input, backup: archive.bundle.backup.backup.name, native: archive.native, ...summary, layerBytes: bytes, seconds })}\n`
        : `imported ${input} as backup ${archive.bundle.backup.backup.name} into ${summary.into}: ${summary.progress.images.total} images, `
          + `${summary.progress.referrers ?? 0} referrers, ${formatBytes(summary.progress.bytes.done)} copied, ${formatBytes(summary.progress.bytes.skipped)} already there, `
          + `in ${seconds.toFixed(1)} s${summary.failures.length ? `; ${summary.failures.length} failed:\n${summary.failures.join('\n')}` : ''}\n`);
      return summary.failures.length ? 1 : 0;
    } finally {
      await archive.close();
    }
  },
};

interface Summary {
  into: string;
  progress: Awaited<ReturnType<typeof importToLocation>>['progress'];
  failures: string[];
}

async function intoLocation(archive: OpenedArchive, values: FlagValues, ctx: CommandContext, concurrency?: number): Promise<Summary> {
  const { store, describe } = await openLocation(values, 'backup', (m) => ctx.stderr.write(`warning: ${m}\n`));
  const bar = progressBar(ctx.stderr, 'import');
  try {
    const { bundleKey, progress } = await importToLocation(archive, store, {
      signal: ctx.signal, ...(concurrency && { concurrency }),
      onProgress: (p) => bar.update(p.bytes.done + p.bytes.skipped, p.bytes.total),
    });
    return { into: `${describe} (${bundleKey})`, progress, failures: [] };
  } finally {
    bar.done();
    await store.close();
  }
}

async function intoRegistry(archive: OpenedArchive, host: string, values: FlagValues, ctx: CommandContext, concurrency?: number): Promise<Summary> {
  const passwordFile = str(values, 'registry-password-file');
  const password = passwordFile ? readFileSync(passwordFile, 'utf8').trim() : ctx.env.REGISTRY_PASSWORD;
  const caFile = str(values, 'registry-ca-file');
  const user = str(values, 'registry-user');
  const registry = createRegistryClient({
    host, ...(caFile && { caFile }), ...(user && { username: user }), ...(password && { password }), signal: ctx.signal,
  });
  const bar = progressBar(ctx.stderr, 'import');
  try {
    const { progress, failures } = await importToRegistry(archive, registry, {
      signal: ctx.signal, namespaceMapping: pairs(values, 'namespace-mapping'), ...(concurrency && { concurrency }),
      onProgress: (p) => bar.update(p.bytes.done + p.bytes.skipped, p.bytes.total),
    });
    return { into: `registry ${registry.host}`, progress, failures: failures.map((f) => `${f.imageStream} ${f.reference}: ${f.message}`) };
  } finally {
    bar.done();
    registry.close();
  }
}
