// Planted bundles: anyone who may write the bucket may put a bundle.tar there. Each case plants
// one (written byte by byte, bundleBuilder.ts), lets an ImageStreamsRestore in the admin
// namespace (which may push anywhere) read it, and checks that the restore fails with a reason
// and a message that name what is wrong, and that nothing reached the registry: no layer, no
// config, no manifest, no tag in the target repository.
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { readFile, writeFile } from 'node:fs/promises';
import { LAYOUT, World, readyOf, table, type Case } from './world.js';
import {
  backupJson, bundleEntries, hexOf, hugePaxBundle, makeImage, paxRecord, tarBytes, type Entry, type MadeImage, type StreamOfImages,
} from './bundleBuilder.js';

let world: World;
beforeAll(async () => {
  world = await World.start({ file: 'bundle' });
}, 120_000);
afterAll(async () => {
  await world?.close();
});

const GiB = 1024 * 1024 * 1024;
const MiB = 1024 * 1024;

interface Planted {
  sub: string;
  image: MadeImage;
  streams: StreamOfImages[];
  /** The registry namespace the restore maps `src` to: nothing may appear there. */
  target: string;
}

/** One image in image stream src/app, tagged latest; its layer is put in the pool unless told. */
function scene(w: World, sub: string, label = sub): Planted {
  const image = makeImage(`${w.run}-${label}`);
  return { sub, image, streams: [{ namespace: 'src', name: 'app', images: [{ image, tags: ['latest'] }] }], target: `t-${sub}-${w.run}` };
}

async function plant(w: World, p: Planted, bundle: Buffer, opts: { layer?: Buffer } = {}): Promise<void> {
  const root = `${w.prefix(p.sub)}/${LAYOUT}`;
  await w.putObject(`${root}blobs/sha256/${hexOf(p.image.layerDigest)}`, opts.layer ?? p.image.layer);
  await w.putObject(`${root}backups/planted/bundle.tar`, bundle);
}

/** Restores the planted bundle into `target`, and returns the final status. */
async function restore(w: World, p: Planted) {
  await w.createIsr(w.admin, p.sub, {
    imageStreamsBackupReference: { name: 'planted' }, backupLocation: { velero: w.location(p.sub) }, namespaceMapping: { src: p.target },
  });
  return w.finishedIsr(w.admin, p.sub);
}

async function expectNothingPushed(w: World, p: Planted): Promise<void> {
  const repo = `${p.target}/app`;
  expect(await w.hasBlob(repo, p.image.layerDigest)).toBe(false);
  expect(await w.hasBlob(repo, p.image.configDigest)).toBe(false);
  expect(await w.hasManifest(repo, p.image.digest)).toBe(false);
  expect(await w.tagDigest(repo, 'latest')).toBeUndefined();
}

/** Plants `entries`, restores, and expects Failed with `reason` and a message holding `says`. */
async function refused(w: World, p: Planted, entries: Entry[] | Buffer, says: RegExp, reason = 'InvalidBundle'): Promise<void> {
  await plant(w, p, Buffer.isBuffer(entries) ? entries : tarBytes(entries));
  const isr = await restore(w, p);
  expect(isr.status?.phase).toBe('Failed');
  expect(readyOf(isr)).toMatchObject({ status: 'False', reason });
  expect(isr.status?.message).toMatch(says);
  const events = await w.events('ImageStreamsRestore', w.admin, p.sub, ['RestoreFailed']);
  expect(events.find((e) => e.reason === 'RestoreFailed')?.message).toMatch(says);
  await expectNothingPushed(w, p);
}

/** The controller's peak resident memory since the last reset, as the benchmark reads it (VmHWM). */
async function peakRss(pid: number): Promise<number> {
  const m = /^VmHWM:\s+(\d+) kB/m.exec(await readFile(`/proc/${pid}/status`, 'utf8'));
  return Number(m![1]) * 1024;
}

const tarCases: Case[] = [
  {
    behaviour: 'a 2 GiB PAX header is refused before it is buffered: the controller stays small and serves the others',
    run: async (w) => {
      const p = scene(w, 'pax2g');
      await w.putObject(`${w.prefix(p.sub)}/${LAYOUT}blobs/sha256/${hexOf(p.image.layerDigest)}`, p.image.layer);
      const { body, size } = hugePaxBundle(2 * GiB, tarBytes(bundleEntries(p.streams)));
      await w.s3.send(new PutObjectCommand({
        Bucket: w.env.S3_BUCKET, Key: `${w.prefix(p.sub)}/${LAYOUT}backups/planted/bundle.tar`, Body: body, ContentLength: size,
      }));
      await writeFile(`/proc/${w.controller.pid}/clear_refs`, '5');
      const isr = await restore(w, p);
      const peak = await peakRss(w.controller.pid);
      expect(isr.status?.phase).toBe('Failed');
      expect(readyOf(isr)?.reason).toBe('InvalidBundle');
      expect(isr.status?.message).toMatch(/an extension header \('x'\) of 2147483648 bytes is over the 65536 bytes allowed/);
      // Buffered whole, the header alone would be 2 GiB.
      expect(peak).toBeLessThan(400 * MiB);
      await expectNothingPushed(w, p);
    },
  },
  {
    behaviour: 'a GNU long name of 1 MiB is refused',
    run: async (w) => {
      const p = scene(w, 'gnulong');
      await refused(w, p, [{ name: '././@LongLink', type: 'L', data: Buffer.alloc(MiB, 'n') }, ...bundleEntries(p.streams)],
        /an extension header \('L'\) of 1048576 bytes is over the 65536 bytes allowed/);
    },
  },
  {
    behaviour: 'a small PAX header, as other tar tools write, is read (imported archives stay readable)',
    run: async (w) => {
      const p = scene(w, 'paxsmall');
      const [first, ...rest] = bundleEntries(p.streams);
      await plant(w, p, tarBytes([{ name: 'PaxHeaders/backup.json', type: 'x', data: paxRecord('mtime', '1767225600.5') }, first!, ...rest]));
      const isr = await restore(w, p);
      expect(isr.status).toMatchObject({ phase: 'Completed', progress: { images: { done: 1 } } });
      expect(await w.tagDigest(`${p.target}/app`, 'latest')).toBe(p.image.digest);
    },
  },
  {
    behaviour: 'a tar bomb (an entry that says it holds 1 TiB) is refused from its header',
    run: async (w) => {
      const p = scene(w, 'bomb');
      const [json, ...rest] = bundleEntries(p.streams);
      await refused(w, p, [json!, { name: `blobs/sha256/${'b'.repeat(64)}`, size: 1024 * GiB, data: Buffer.alloc(4096) }, ...rest],
        /an entry of 1099511627776 bytes is over the \d+ bytes allowed/);
    },
  },
  {
    behaviour: 'a path traversal entry name is refused',
    run: async (w) => {
      const p = scene(w, 'traversal');
      const entries = bundleEntries(p.streams);
      await refused(w, p, [...entries.slice(0, 3), { name: '../../../../tmp/evil', data: Buffer.from('x') }, ...entries.slice(3)],
        /unexpected entry "\.\.\/\.\.\/\.\.\/\.\.\/tmp\/evil"/);
    },
  },
  {
    behaviour: 'a blob path with .. segments is refused',
    run: async (w) => {
      const p = scene(w, 'dotdot');
      const entries = bundleEntries(p.streams);
      await refused(w, p, [...entries.slice(0, 3), { name: `blobs/sha256/../../backup.json`, data: Buffer.from('{}') }, ...entries.slice(3)],
        /unexpected entry "blobs\/sha256\/\.\.\/\.\.\/backup\.json"/);
    },
  },
  {
    behaviour: 'a symbolic link is refused',
    run: async (w) => {
      const p = scene(w, 'symlink');
      const entries = bundleEntries(p.streams);
      await refused(w, p, [...entries.slice(0, 3), { name: `blobs/sha256/${'c'.repeat(64)}`, type: '2', linkname: '/etc/passwd' }, ...entries.slice(3)],
        /tar type '2' \(a symbolic link\): only files and directories/);
    },
  },
  {
    behaviour: 'a hard link is refused',
    run: async (w) => {
      const p = scene(w, 'hardlink');
      const entries = bundleEntries(p.streams);
      await refused(w, p, [...entries.slice(0, 3), { name: `blobs/sha256/${'d'.repeat(64)}`, type: '1', linkname: 'backup.json' }, ...entries.slice(3)],
        /tar type '1' \(a hard link\)/);
    },
  },
  {
    behaviour: 'a device entry is refused',
    run: async (w) => {
      const p = scene(w, 'device');
      const entries = bundleEntries(p.streams);
      await refused(w, p, [...entries, { name: 'dev-zero', type: '3' }], /tar type '3' \(a character device\)/);
    },
  },
];

const contentCases: Case[] = [
  {
    behaviour: 'a duplicate entry is refused',
    run: async (w) => {
      const p = scene(w, 'duplicate');
      const entries = bundleEntries(p.streams);
      await refused(w, p, [...entries, entries[entries.length - 1]!], new RegExp(`entry "blobs/sha256/[a-f0-9]{64}" appears twice`));
    },
  },
  {
    behaviour: 'a second backup.json is refused',
    run: async (w) => {
      const p = scene(w, 'twojson');
      const entries = bundleEntries(p.streams);
      const other = { ...entries[0]!, data: Buffer.from(JSON.stringify(backupJson([{ namespace: 'openshift', name: 'cli', images: p.streams[0]!.images }]))) };
      await refused(w, p, [...entries, other], /entry "backup\.json" appears twice/);
    },
  },
  {
    behaviour: 'entries out of order (backup.json not first) are refused',
    run: async (w) => {
      const p = scene(w, 'order');
      const [json, layout, ...rest] = bundleEntries(p.streams);
      await refused(w, p, [layout!, json!, ...rest], /its first entry is "oci-layout", not backup\.json/);
    },
  },
  {
    behaviour: 'a blob whose digest does not match its name is refused',
    run: async (w) => {
      const p = scene(w, 'digest');
      const entries = bundleEntries(p.streams).map((e) => (e.name === `blobs/sha256/${hexOf(p.image.configDigest)}` ? { ...e, data: Buffer.from('{"tampered":true}') } : e));
      await refused(w, p, entries, new RegExp(`entry blobs/sha256/${hexOf(p.image.configDigest)} has digest sha256:[a-f0-9]{64}: the bundle is corrupt`));
    },
  },
  {
    behaviour: 'an object that is not a tar is refused',
    run: async (w) => {
      const p = scene(w, 'nottar');
      await refused(w, p, Buffer.from('PK\u0003\u0004 this is a zip file, or anything else, but not a tar archive'.repeat(20)),
        /(it is not a readable tar|a tar header has an unreadable size)/);
    },
  },
  {
    behaviour: 'a truncated bundle is refused',
    run: async (w) => {
      const p = scene(w, 'truncated');
      const whole = tarBytes(bundleEntries(p.streams));
      await refused(w, p, whole.subarray(0, whole.length - 1024 - 700), /(is truncated|not a readable tar|has no)/);
    },
  },
  {
    behaviour: 'a newer format version is refused as such',
    run: async (w) => {
      const p = scene(w, 'version');
      await refused(w, p, bundleEntries(p.streams, backupJson(p.streams, { formatVersion: 2 })), /has format version 2; this imagestream-backup reads version 1/, 'UnsupportedBundleVersion');
    },
  },
  {
    behaviour: 'a backup.json that is not JSON is refused',
    run: async (w) => {
      const p = scene(w, 'notjson');
      const [, ...rest] = bundleEntries(p.streams);
      await refused(w, p, [{ name: 'backup.json', data: Buffer.from('{"formatVersion": 1, ') }, ...rest], /backup\.json is not JSON/);
    },
  },
  {
    behaviour: 'a backup.json without the backup identity is refused',
    run: async (w) => {
      const p = scene(w, 'noident');
      await refused(w, p, bundleEntries(p.streams, backupJson(p.streams, { backup: { name: 'planted' } })), /backup\.json lacks backup\.namespace, backup\.name or backup\.uid/);
    },
  },
  {
    behaviour: 'a backup.json reference that is not a digest is refused',
    run: async (w) => {
      const p = scene(w, 'baddigest');
      const json = backupJson(p.streams);
      (json.imageStreams as Array<{ references: Array<{ digest: string }> }>)[0]!.references[0]!.digest = 'sha256:../../../etc/passwd';
      await refused(w, p, bundleEntries(p.streams, json), /backup\.json imageStreams\[0\]\.references\[0\] is malformed/);
    },
  },
  {
    behaviour: 'a manifest whose layer backup.json does not list is refused',
    run: async (w) => {
      const p = scene(w, 'unlisted');
      await refused(w, p, bundleEntries(p.streams, backupJson(p.streams, { layers: [] })),
        new RegExp(`layer ${p.image.layerDigest} of ${p.image.digest} is not listed in backup\\.json`));
    },
  },
  {
    behaviour: 'a reference whose manifest is not in the bundle is refused',
    run: async (w) => {
      const p = scene(w, 'nomanifest');
      const entries = bundleEntries(p.streams).filter((e) => e.name !== `blobs/sha256/${hexOf(p.image.digest)}`);
      await refused(w, p, entries, new RegExp(`manifest ${p.image.digest} is missing`));
    },
  },
  {
    behaviour: 'a pool layer of the right size but the wrong content is not pushed',
    run: async (w) => {
      const p = scene(w, 'poolswap');
      const forged = Buffer.alloc(p.image.layer.length, 'forged');
      await plant(w, p, tarBytes(bundleEntries(p.streams)), { layer: forged });
      const isr = await restore(w, p);
      expect(isr.status?.phase).toBe('Failed');
      const failure = isr.status?.failures?.[0];
      expect(failure).toMatchObject({ reference: p.image.digest });
      expect(failure?.message).toMatch(new RegExp(`layer in the object store \\(.*${hexOf(p.image.layerDigest)}\\)`));
      expect(failure?.message).toMatch(/digest/i);
      // The config (verified against its digest, from the bundle) may be in; the forged layer,
      // the manifest and the tag are not.
      const repo = `${p.target}/app`;
      expect(await w.hasBlob(repo, p.image.layerDigest)).toBe(false);
      expect(await w.hasManifest(repo, p.image.digest)).toBe(false);
      expect(await w.tagDigest(repo, 'latest')).toBeUndefined();
    },
  },
  {
    behaviour: 'an image stream name that is no repository name fails that image only',
    run: async (w) => {
      const p = scene(w, 'badname');
      const good = makeImage(`${w.run}-badname-good`);
      const streams: StreamOfImages[] = [
        { namespace: 'src', name: '../../v2/_catalog', images: [{ image: p.image, tags: ['latest'] }] },
        { namespace: 'src', name: 'good', images: [{ image: good, tags: ['latest'] }] },
      ];
      await w.putObject(`${w.prefix(p.sub)}/${LAYOUT}blobs/sha256/${hexOf(good.layerDigest)}`, good.layer);
      await plant(w, p, tarBytes(bundleEntries(streams)));
      const isr = await restore(w, p);
      expect(isr.status?.phase).toBe('PartiallyFailed');
      expect(isr.status?.failures).toEqual([expect.objectContaining({
        reference: p.image.digest, message: expect.stringMatching(/target repository ".*\.\.\/\.\.\/v2\/_catalog" is not a valid repository name/),
      })]);
      expect(await w.tagDigest(`${p.target}/good`, 'latest')).toBe(good.digest);
      expect(await w.hasBlob(`${p.target}/good`, p.image.layerDigest)).toBe(false);
    },
  },
  {
    behaviour: 'a tag with unicode or a path in backup.json is never set',
    run: async (w) => {
      const p = scene(w, 'badtag');
      p.streams[0]!.images[0]!.tags = ['lätest', '../../manifests/latest', 'v1'];
      await plant(w, p, tarBytes(bundleEntries(p.streams)));
      const isr = await restore(w, p);
      expect(isr.status?.phase).toBe('PartiallyFailed');
      const messages = (isr.status?.failures ?? []).map((f) => f.message);
      expect(messages).toEqual(expect.arrayContaining([
        expect.stringMatching(/tag .*:lätest was not set: "lätest" is neither a digest nor a valid tag/),
        expect.stringMatching(/tag .*:\.\.\/\.\.\/manifests\/latest was not set: .* is neither a digest nor a valid tag/),
      ]));
      const repo = `${p.target}/app`;
      expect(await w.tagDigest(repo, 'v1')).toBe(p.image.digest);
      expect(await w.tagDigest(repo, 'latest')).toBeUndefined();
    },
  },
];

table('planted bundle.tar: tar structure', 'tar', () => world, tarCases);
table('planted bundle.tar: content', 'content', () => world, contentCases);
