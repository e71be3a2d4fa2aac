// Specs no honest user writes: too big, malformed, at the length limits, with unicode where the
// grammar forbids it, with prototype names as map keys, and backup locations with a leading
// slash, an unknown provider, a user:password URL, a traversal in the bucket or prefix. What
// the API server refuses must be refused there, naming the field; what reaches the controller
// must end in a reason and a message that say what is wrong, with nothing stored.
import { LAYOUT, World, readyOf, table, type Case } from './world.js';
import { backupJson, bundleEntries, hexOf, makeImage, tarBytes } from './bundleBuilder.js';

let world: World;
beforeAll(async () => {
  world = await World.start({ file: 'spec' });
}, 120_000);
afterAll(async () => {
  await world?.close();
});

const DIGEST = `sha256:${'a'.repeat(64)}`;

/** The API server's answer to a create that must fail: its status code and message. */
async function refusedByApi(create: Promise<unknown>): Promise<{ code: number; message: string }> {
  try {
    await create;
  } catch (err) {
    const e = err as { code?: number; body?: unknown; message?: string };
    let status: { code?: number; message?: string } = {};
    try {
      status = typeof e.body === 'string' ? JSON.parse(e.body) : (e.body as typeof status) ?? {};
    } catch {
      status = { message: String(e.body) };
    }
    return { code: e.code ?? status.code ?? 0, message: status.message ?? e.message ?? String(err) };
  }
  throw new Error('the API server accepted what it must refuse');
}

/** A backup of one real image of the admin namespace through `location`, which must be refused with `reason`. */
async function refusedLocation(w: World, id: string, change: Parameters<World['location']>[1], reason: string, says: RegExp): Promise<string> {
  const image = await w.push(`${w.admin}/app`, id);
  await w.createIsb(w.admin, id, {
    startBackup: true, backupLocation: { velero: w.location(id, change) },
    imageStreams: [{ namespace: w.admin, name: 'app', dockerImageReferences: [{ dockerImageReference: w.reference(`${w.admin}/app`, image.digest) }] }],
  });
  const isb = await w.isbReason(w.admin, id, reason);
  expect(isb.status?.phase).toBe('WaitingForStart');
  expect(readyOf(isb)?.message).toMatch(says);
  const events = await w.events('ImageStreamsBackup', w.admin, id, ['BackupLocationUnavailable']);
  expect(events.find((e) => e.reason === 'BackupLocationUnavailable')?.message).toMatch(says);
  expect(await w.keys(id)).toEqual([]);
  return JSON.stringify({ status: isb.status, events });
}

const entry = (ns: string, tags: string[], reference = `127.0.0.1:5000/${ns}/app@${DIGEST}`) => ({ namespace: ns, name: 'app', dockerImageReferences: [{ dockerImageReference: reference, tags }] });

const admissionCases: Case[] = [
  {
    behaviour: 'more image streams than the CRD allows are refused at admission',
    run: async (w) => {
      const streams = Array.from({ length: 5001 }, (_, i) => ({ namespace: w.admin, name: `s${i}`, dockerImageReferences: [{ dockerImageReference: `r.io/${w.admin}/s${i}@${DIGEST}` }] }));
      const r = await refusedByApi(w.createIsb(w.admin, 'too-many', { imageStreams: streams }));
      expect(r.code).toBe(422);
      expect(r.message).toMatch(/spec\.imageStreams: Too many: 5001: must have at most 5000 items/);
      expect(await w.isbs.get(w.admin, 'too-many')).toBeUndefined();
    },
  },
  {
    behaviour: 'a spec over the API server\'s request limit is refused whole',
    run: async (w) => {
      // 400 streams of 250 references, 10 MB: over the API server's 3 MiB per request (and etcd's 1.5 MiB per object).
      const refs = Array.from({ length: 250 }, (_, j) => ({ dockerImageReference: `r.io/${w.admin}/x@sha256:${j.toString(16).padStart(64, '0')}` }));
      const streams = Array.from({ length: 400 }, (_, i) => ({ namespace: w.admin, name: `s${i}`, dockerImageReferences: refs }));
      const r = await refusedByApi(w.createIsb(w.admin, 'too-big', { imageStreams: streams }));
      expect(r.code).toBe(413);
      expect(r.message).toMatch(/Request entity too large: limit is 3145728/);
      expect(await w.isbs.get(w.admin, 'too-big')).toBeUndefined();
    },
  },
  {
    behaviour: 'a reference by tag is refused at admission, naming the field',
    run: async (w) => {
      const r = await refusedByApi(w.createIsb(w.admin, 'by-tag', { imageStreams: [entry(w.admin, [], `r.io/${w.admin}/app:latest`)] }));
      expect(r.code).toBe(422);
      expect(r.message).toMatch(/spec\.imageStreams\[0\]\.dockerImageReferences\[0\]\.dockerImageReference: Invalid value/);
    },
  },
  {
    behaviour: 'a backup tag with unicode is refused at admission, naming the tag',
    run: async (w) => {
      const r = await refusedByApi(w.createIsb(w.admin, 'unicode-tag', { imageStreams: [entry(w.admin, ['v1', 'lätest'])] }));
      expect(r.code).toBe(422);
      expect(r.message).toMatch(/spec\.imageStreams\[0\]\.dockerImageReferences\[0\]\.tags\[1\]: Invalid value: "lätest"/);
    },
  },
  {
    behaviour: 'a restore tag with a right-to-left override is refused at admission',
    run: async (w) => {
      const r = await refusedByApi(w.createIsr(w.admin, 'rtl-tag', {
        imageStreamsBackupReference: { name: 'x' },
        imageStreams: [{ namespace: w.admin, name: 'app', dockerImageReferences: [{ dockerImageReference: `r.io/${w.admin}/app@${DIGEST}`, tags: ['v1\u202Etxt.exe'] }] }],
      }));
      expect(r.code).toBe(422);
      expect(r.message).toMatch(/spec\.imageStreams\[0\]\.dockerImageReferences\[0\]\.tags\[0\]: Invalid value/);
    },
  },
  {
    behaviour: 'a tag of 129 characters is refused at admission',
    run: async (w) => {
      const r = await refusedByApi(w.createIsb(w.admin, 'long-tag', { imageStreams: [entry(w.admin, ['t'.repeat(129)])] }));
      expect(r.code).toBe(422);
      expect(r.message).toMatch(/tags\[0\]: Invalid value/);
    },
  },
  {
    behaviour: 'an image stream name with capitals or slashes is refused at admission',
    run: async (w) => {
      const r = await refusedByApi(w.createIsb(w.admin, 'bad-stream', { imageStreams: [{ namespace: w.admin, name: '../App', dockerImageReferences: [] }] }));
      expect(r.code).toBe(422);
      expect(r.message).toMatch(/spec\.imageStreams\[0\]\.name: Invalid value: "\.\.\/App"/);
    },
  },
  {
    behaviour: 'a namespaceMapping target that is not a namespace name is refused at admission',
    run: async (w) => {
      const r = await refusedByApi(w.createIsr(w.admin, 'bad-map', { imageStreamsBackupReference: { name: 'x' }, namespaceMapping: { a: '../openshift' } }));
      expect(r.code).toBe(422);
      expect(r.message).toMatch(/spec\.namespaceMapping\.a: Invalid value: "\.\.\/openshift"/);
    },
  },
];

const limitCases: Case[] = [
  {
    behaviour: 'names at their length limits back up and restore (a 253-character backup, a 128-character tag)',
    run: async (w) => {
      const name = `n${'x'.repeat(251)}z`;
      const tag = `t${'9'.repeat(127)}`;
      const image = await w.push(`${w.admin}/app`, 'limits');
      await w.createIsb(w.admin, name, {
        startBackup: true, backupLocation: { velero: w.location('limits') },
        imageStreams: [{ namespace: w.admin, name: 'app', dockerImageReferences: [{ dockerImageReference: w.reference(`${w.admin}/app`, image.digest), tags: [tag] }] }],
      });
      expect((await w.finishedIsb(w.admin, name)).status?.phase).toBe('Completed');
      expect(await w.keys('limits')).toContain(`${w.prefix('limits')}/${LAYOUT}backups/${name}/bundle.tar`);
      const target = `lim-${w.run}`;
      await w.createIsr(w.admin, name, { imageStreamsBackupReference: { name }, backupLocation: { velero: w.location('limits') }, namespaceMapping: { [w.admin]: target } });
      expect((await w.finishedIsr(w.admin, name)).status?.phase).toBe('Completed');
      expect(await w.tagDigest(`${target}/app`, tag)).toBe(image.digest);
    },
  },
  {
    behaviour: 'a restore naming a backup with a path traversal is refused',
    run: async (w) => {
      await w.createIsr(w.admin, 'traverse', { imageStreamsBackupReference: { name: '../../velero/backups/x' }, backupLocation: { velero: w.location('traverse') } });
      const isr = await w.finishedIsr(w.admin, 'traverse');
      expect(isr.status?.phase).toBe('Failed');
      expect(readyOf(isr)?.reason).toBe('InvalidBackupName');
      expect(isr.status?.message).toContain('backup name "../../velero/backups/x" is not a valid Kubernetes object name');
    },
  },
  {
    behaviour: 'constructor and __proto__ as namespaceMapping keys and a backup namespace named constructor map as written',
    run: async (w) => {
      const image = makeImage(`${w.run}-constructor`);
      const streams = [{ namespace: 'constructor', name: 'app', images: [{ image, tags: ['latest'] }] }];
      const root = `${w.prefix('proto')}/${LAYOUT}`;
      await w.putObject(`${root}blobs/sha256/${hexOf(image.layerDigest)}`, image.layer);
      await w.putObject(`${root}backups/planted/bundle.tar`, tarBytes(bundleEntries(streams, backupJson(streams))));
      const target = `proto-${w.run}`;
      // JSON.parse makes "__proto__" an own key, as the API server's JSON does.
      const namespaceMapping = JSON.parse(`{"__proto__": "evil-${w.run}", "toString": "evil2-${w.run}", "constructor": "${target}"}`) as Record<string, string>;
      await w.createIsr(w.admin, 'proto', { imageStreamsBackupReference: { name: 'planted' }, backupLocation: { velero: w.location('proto') }, namespaceMapping });
      const isr = await w.finishedIsr(w.admin, 'proto');
      expect(isr.status?.phase).toBe('Completed');
      expect(await w.tagDigest(`${target}/app`, 'latest')).toBe(image.digest);
      expect(await w.hasManifest('constructor/app', image.digest)).toBe(false);
      expect(await w.hasManifest(`evil-${w.run}/app`, image.digest)).toBe(false);
    },
  },
  {
    behaviour: 'config keys named __proto__ and constructor are ignored',
    run: async (w) => {
      const image = await w.push(`${w.admin}/app`, 'protoconfig');
      const config = JSON.parse(`{"region": "${w.env.S3_REGION}", "s3Url": "${w.env.S3_ENDPOINT}", "s3ForcePathStyle": "true", "__proto__": "x", "constructor": "y"}`) as Record<string, string>;
      await w.createIsb(w.admin, 'protoconfig', {
        startBackup: true, backupLocation: { velero: w.location('protoconfig', (l) => ({ ...l, config })) },
        imageStreams: [{ namespace: w.admin, name: 'app', dockerImageReferences: [{ dockerImageReference: w.reference(`${w.admin}/app`, image.digest) }] }],
      });
      expect((await w.finishedIsb(w.admin, 'protoconfig')).status?.phase).toBe('Completed');
    },
  },
];

const locationCases: Case[] = [
  {
    behaviour: 'a prefix with a leading slash is read as Velero reads it: no key starts with a slash',
    run: async (w) => {
      const image = await w.push(`${w.admin}/app`, 'slash');
      const location = w.location('slash', (l) => ({ ...l, objectStorage: { ...l.objectStorage, prefix: `/${l.objectStorage.prefix}/` } }));
      await w.createIsb(w.admin, 'slash', {
        startBackup: true, backupLocation: { velero: location },
        imageStreams: [{ namespace: w.admin, name: 'app', dockerImageReferences: [{ dockerImageReference: w.reference(`${w.admin}/app`, image.digest), tags: ['v1'] }] }],
      });
      expect((await w.finishedIsb(w.admin, 'slash')).status?.phase).toBe('Completed');
      // Velero trims slashes off bucket and prefix (persistence.NewObjectBackupStore).
      expect(await w.keys('slash')).toContain(`${w.prefix('slash')}/${LAYOUT}backups/slash/bundle.tar`);
      expect([...(await w.bucket.list('/')).keys()]).toEqual([]);
    },
  },
  {
    behaviour: 'an unknown provider is refused, naming it',
    run: async (w) => {
      await refusedLocation(w, 'provider', (l) => ({ ...l, provider: 'example.com/tape' }), 'UnsupportedProvider', /backup location provider "example\.com\/tape" is not supported/);
    },
  },
  {
    behaviour: 'an s3Url with user:password is refused without echoing the password',
    run: async (w) => {
      const shown = await refusedLocation(w, 'userinfo', (l) => ({ ...l, config: { ...l.config, s3Url: w.env.S3_ENDPOINT.replace('https://', 'https://admin:hunter2-secret@') } }),
        'InvalidBackupLocation', /config\.s3Url must not hold credentials; put them in the credential secret/);
      expect(shown).not.toContain('hunter2-secret');
    },
  },
  {
    behaviour: 'a bucket with a path in it is refused',
    run: async (w) => {
      await refusedLocation(w, 'bucket', (l) => ({ ...l, objectStorage: { ...l.objectStorage, bucket: '../other-bucket' } }), 'InvalidBucket', /objectStorage\.bucket "\.\.\/other-bucket" is not a valid S3 bucket name/);
    },
  },
  {
    behaviour: 'a prefix with .. segments is refused',
    run: async (w) => {
      await refusedLocation(w, 'dotdot', (l) => ({ ...l, objectStorage: { ...l.objectStorage, prefix: `${l.objectStorage.prefix}/../../velero` } }), 'InvalidPrefix', /must not contain "\." or "\.\." segments/);
    },
  },
  {
    behaviour: 'an unknown checksumAlgorithm is refused',
    run: async (w) => {
      await refusedLocation(w, 'checksum', (l) => ({ ...l, config: { ...l.config, checksumAlgorithm: 'MD5' } }), 'InvalidBackupLocation', /config\.checksumAlgorithm "MD5" is not one of/);
    },
  },
  {
    behaviour: 'a caCert that is not a PEM bundle is refused',
    run: async (w) => {
      await refusedLocation(w, 'cacert', (l) => ({ ...l, objectStorage: { ...l.objectStorage, caCert: Buffer.from('not a certificate').toString('base64') } }), 'InvalidCACert', /objectStorage\.caCert is not a base64-encoded PEM certificate bundle/);
    },
  },
  {
    behaviour: 'a malformed tagging is refused',
    run: async (w) => {
      await refusedLocation(w, 'tagging', (l) => ({ ...l, config: { ...l.config, tagging: 'a=b&&=c' } }), 'InvalidBackupLocation', /config\.tagging must be URL-encoded key=value pairs joined by &/);
    },
  },
];

table('specs: refused at admission', 'admission', () => world, admissionCases);
table('specs: limits and prototype names', 'limits', () => world, limitCases);
table('specs: backup locations', 'locations', () => world, locationCases);
