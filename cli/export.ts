// `export --backup NAME --output FILE`: one backup of a location as a single OCI image layout tar.
import { exportBackup } from '../pkg/archive/index.js';
import { formatBytes } from '../controllers/runtime/format.js';
import { required, type Command } from './command.js';
import { LOCATION_FLAGS, openLocation } from './location.js';
import { progressBar } from './progressBar.js';

export const exportCommand: Command = {
  summary: 'write one backup of a location to a single OCI image layout tar (for removable media)',
  synopsis: '--backup <name> --output <file> (--location <bsl> [--namespace <ns>] | --bucket <b> [location flags])',
  description: 'Every blob once (manifests and configs from the bundle, layers from the pool, each checked against its digest), '
    + 'index.json naming each image <namespace>/<imagestream>:<tag> (untagged ones <namespace>/<imagestream>@<digest>), '
    + 'and backup.json, so that `import` makes the same backup on the far side. skopeo, oras and other OCI tools read it.',
  options: {
    backup: { type: 'string', valueName: 'name', help: 'the backup (the ImageStreamsBackup\'s name)' },
    output: { type: 'string', valueName: 'file', help: 'the archive to write (written to <file>.partial, renamed when whole)' },
    json: { type: 'boolean', help: 'print the summary as one JSON object' },
    ...LOCATION_FLAGS,
  },
  async run(values, ctx) {
    const backup = required(values, 'backup');
    const output = required(values, 'output');
    const warn = (m: string) => ctx.stderr.write(`warning: ${m}\n`);
    const { store, describe } = await openLocation(values, 'restore', warn);
    const bar = progressBar(ctx.stderr, 'export');
    const started = Date.now();
    try {
      const r = await exportBackup(store, backup, output, { onProgress: (done, total) => bar.update(done, total), signal: ctx.signal });
      bar.done();
      const seconds = (Date.now() - started) / 1000;
      ctx.stdout.write(values.json
        ? `${JSON.stringify({ backup, output, ...r, seconds })}\n`
        : `exported backup ${backup} from ${describe} to ${output}: ${r.images} images, ${r.referrers} referrers, ${r.blobs} blobs, `
          + `${formatBytes(r.bytes)} in ${seconds.toFixed(1)} s (${formatBytes(Math.round(r.bytes / Math.max(seconds, 0.001)))}/s)\n`);
      return 0;
    } finally {
      bar.done();
      await store.close();
    }
  },
};
