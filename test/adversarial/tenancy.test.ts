// Tenancy: an ImageStreamsBackup or Restore outside the admin namespaces (the controller's own,
// the first of WATCH_NAMESPACES here) may back up only its own namespace's image streams and
// restore only into its own namespace, each refused per image before any byte moves, and may not
// use the controller's own identity or files. "openshift" here is a namespace of the registry
// that the tenant does not own, holding `cli:latest`, which must be unchanged at the end.
import { LAYOUT, World, readyOf, table, type Case } from './world.js';
import { backupJson, bundleEntries, hexOf, makeImage, tarBytes, type MadeImage, type StreamOfImages } from './bundleBuilder.js';
import type { PushedImage } from '../fixture/images.js';

let world: World;
let cli: PushedImage;
/** The registry namespace the tenant must not read or write. */
let openshift: string;

beforeAll(async () => {
  world = await World.start({ file: 'tenancy' });
  openshift = `openshift-${world.run}`;
  cli = await world.push(`${openshift}/cli`, 'openshift-cli', ['latest']);
}, 120_000);
afterAll(async () => {
  await world?.close();
});

const cliRef = (w: World) => w.reference(`${openshift}/cli`, cli.digest);

/** openshift/cli:latest still names the image it had before the test. */
async function cliUntouched(w: World, evil?: MadeImage): Promise<void> {
  expect(await w.tagDigest(`${openshift}/cli`, 'latest')).toBe(cli.digest);
  if (evil) {
    expect(await w.hasManifest(`${openshift}/cli`, evil.digest)).toBe(false);
    expect(await w.hasBlob(`${openshift}/cli`, evil.layerDigest)).toBe(false);
  }
}

/** A bundle in the tenant's own location (the tenant may write its bucket) naming these streams. */
async function plantInTenantLocation(w: World, sub: string, streams: StreamOfImages[]): Promise<void> {
  const root = `${w.prefix(sub)}/${LAYOUT}`;
  for (const s of streams) for (const { image } of s.images) await w.putObject(`${root}blobs/sha256/${hexOf(image.layerDigest)}`, image.layer);
  await w.putObject(`${root}backups/planted/bundle.tar`, tarBytes(bundleEntries(streams, backupJson(streams))));
}

const backupCases: Case[] = [
  {
    behaviour: 'a tenant backup of openshift/cli is refused before any byte moves',
    run: async (w) => {
      await w.createIsb(w.tenant, 'steal', {
        startBackup: true, backupLocation: { velero: w.location('steal') },
        imageStreams: [{ namespace: openshift, name: 'cli', dockerImageReferences: [{ dockerImageReference: cliRef(w), tags: ['latest'] }] }],
      });
      const isb = await w.finishedIsb(w.tenant, 'steal');
      expect(isb.status?.phase).toBe('Failed');
      expect(readyOf(isb)?.reason).toBe('NoValidReferences');
      expect(isb.status?.message).toContain(`an ImageStreamsBackup in namespace ${w.tenant} may back up the image streams of its own namespace only, not "${openshift}"`);
      expect(isb.status?.conditions?.find((c) => c.type === 'ReferencesValid')).toMatchObject({ status: 'False', reason: 'InvalidReferences' });
      const events = await w.events('ImageStreamsBackup', w.tenant, 'steal', ['BackupFailed']);
      expect(events.find((e) => e.reason === 'BackupFailed')?.message).toContain('its own namespace only');
      expect(await w.keys('steal')).toEqual([]);
    },
  },
  {
    behaviour: 'a tenant backup that names its own namespace but reads openshift/cli\'s repository is refused',
    run: async (w) => {
      await w.createIsb(w.tenant, 'disguise', {
        startBackup: true, backupLocation: { velero: w.location('disguise') },
        imageStreams: [{ namespace: w.tenant, name: 'cli', dockerImageReferences: [{ dockerImageReference: cliRef(w), tags: ['latest'] }] }],
      });
      const isb = await w.finishedIsb(w.tenant, 'disguise');
      expect(isb.status?.phase).toBe('Failed');
      expect(isb.status?.failures?.[0]?.message).toContain(`its own namespace only, not "${openshift}"`);
      expect(await w.keys('disguise')).toEqual([]);
    },
  },
  {
    behaviour: 'a tenant backup of its own image and openshift/cli stores its own image only',
    run: async (w) => {
      const own = await w.push(`${w.tenant}/app`, 'mixed');
      await w.createIsb(w.tenant, 'mixed', {
        startBackup: true, backupLocation: { velero: w.location('mixed') },
        imageStreams: [
          { namespace: w.tenant, name: 'app', dockerImageReferences: [{ dockerImageReference: w.reference(`${w.tenant}/app`, own.digest), tags: ['v1'] }] },
          { namespace: openshift, name: 'cli', dockerImageReferences: [{ dockerImageReference: cliRef(w), tags: ['latest'] }] },
        ],
      });
      const isb = await w.finishedIsb(w.tenant, 'mixed');
      expect(isb.status?.phase).toBe('PartiallyFailed');
      expect(isb.status?.failures).toEqual([expect.objectContaining({ reference: cliRef(w), message: expect.stringContaining('its own namespace only') })]);
      const keys = await w.keys('mixed');
      const pool = `${w.prefix('mixed')}/${LAYOUT}blobs/sha256/`;
      expect(keys).toContain(`${pool}${hexOf(own.layers[0]!.digest)}`);
      expect(keys).not.toContain(`${pool}${hexOf(cli.layers[0]!.digest)}`);
      const files = await w.bucket.bundleFiles(`${w.prefix('mixed')}/${LAYOUT}backups/mixed/bundle.tar`);
      expect(files.has(`blobs/sha256/${hexOf(cli.digest)}`)).toBe(false);
      expect(files.get('backup.json')!.toString()).not.toContain(openshift);
    },
  },
  {
    behaviour: 'a tenant location without a credential (the controller\'s own identity) is refused',
    run: async (w) => {
      const own = await w.push(`${w.tenant}/app`, 'nocred');
      await w.createIsb(w.tenant, 'nocred', {
        startBackup: true, backupLocation: { velero: w.location('nocred', ({ credential: _none, ...l }) => l) },
        imageStreams: [{ namespace: w.tenant, name: 'app', dockerImageReferences: [{ dockerImageReference: w.reference(`${w.tenant}/app`, own.digest) }] }],
      });
      const isb = await w.isbReason(w.tenant, 'nocred', 'CredentialRequired');
      expect(isb.status?.phase).toBe('WaitingForStart');
      expect(readyOf(isb)?.message).toMatch(/names no credential, so it would use the controller's own identity: in namespace .*, which is not an admin namespace/);
      await w.events('ImageStreamsBackup', w.tenant, 'nocred', ['BackupLocationUnavailable']);
      expect(await w.keys('nocred')).toEqual([]);
    },
  },
  {
    behaviour: 'a tenant location with SSE-C (a file of the controller\'s pod) is refused',
    run: async (w) => {
      const own = await w.push(`${w.tenant}/app`, 'ssec');
      await w.createIsb(w.tenant, 'ssec', {
        startBackup: true,
        backupLocation: { velero: w.location('ssec', (l) => ({ ...l, config: { ...l.config, customerKeyEncryptionFile: '/etc/hostname' } })) },
        imageStreams: [{ namespace: w.tenant, name: 'app', dockerImageReferences: [{ dockerImageReference: w.reference(`${w.tenant}/app`, own.digest) }] }],
      });
      const isb = await w.isbReason(w.tenant, 'ssec', 'InvalidBackupLocation');
      expect(readyOf(isb)?.message).toMatch(/customerKeyEncryptionFile \(SSE-C\) reads a file of the controller's pod: only objects in an admin namespace may use it/);
      expect(await w.keys('ssec')).toEqual([]);
    },
  },
  {
    behaviour: 'a tenant cannot name a BackupStorageLocation of the admin namespace',
    run: async (w) => {
      await w.cluster.createLocation(w.admin, 'admin-only', w.prefix('adminbsl'));
      const own = await w.push(`${w.tenant}/app`, 'adminbsl');
      await w.createIsb(w.tenant, 'adminbsl', {
        startBackup: true, backupLocation: { name: 'admin-only' },
        imageStreams: [{ namespace: w.tenant, name: 'app', dockerImageReferences: [{ dockerImageReference: w.reference(`${w.tenant}/app`, own.digest) }] }],
      });
      const isb = await w.isbReason(w.tenant, 'adminbsl', 'BackupLocationNotFound');
      expect(readyOf(isb)?.message).toContain(`BackupStorageLocation "admin-only" not found in namespace ${w.tenant}`);
      expect(await w.keys('adminbsl')).toEqual([]);
    },
  },
  {
    behaviour: 'an admin backup may read openshift/cli',
    run: async (w) => {
      await w.createIsb(w.admin, 'admin-cli', {
        startBackup: true, backupLocation: { velero: w.location('admincli') },
        imageStreams: [{ namespace: openshift, name: 'cli', dockerImageReferences: [{ dockerImageReference: cliRef(w), tags: ['latest'] }] }],
      });
      expect((await w.finishedIsb(w.admin, 'admin-cli')).status?.phase).toBe('Completed');
    },
  },
];

const restoreCases: Case[] = [
  {
    behaviour: 'a tenant restore of a bundle naming openshift/cli:latest is refused; the tag is unchanged',
    run: async (w) => {
      const evil = makeImage(`${w.run}-evil-cli`);
      await plantInTenantLocation(w, 'overwrite', [{ namespace: openshift, name: 'cli', images: [{ image: evil, tags: ['latest'] }] }]);
      await w.createIsr(w.tenant, 'overwrite', { imageStreamsBackupReference: { name: 'planted' }, backupLocation: { velero: w.location('overwrite') } });
      const isr = await w.finishedIsr(w.tenant, 'overwrite');
      expect(isr.status?.phase).toBe('Failed');
      expect(isr.status?.failures?.[0]?.message).toContain(`an ImageStreamsRestore in namespace ${w.tenant} may restore into its own namespace only, not "${openshift}"`);
      await w.events('ImageStreamsRestore', w.tenant, 'overwrite', ['RestoreFailed']);
      await cliUntouched(w, evil);
    },
  },
  {
    behaviour: 'a tenant restore mapping its own namespace onto openshift is refused',
    run: async (w) => {
      const evil = makeImage(`${w.run}-evil-mapped`);
      await plantInTenantLocation(w, 'mapinto', [{ namespace: w.tenant, name: 'cli', images: [{ image: evil, tags: ['latest'] }] }]);
      await w.createIsr(w.tenant, 'mapinto', {
        imageStreamsBackupReference: { name: 'planted' }, backupLocation: { velero: w.location('mapinto') }, namespaceMapping: { [w.tenant]: openshift },
      });
      const isr = await w.finishedIsr(w.tenant, 'mapinto');
      expect(isr.status?.phase).toBe('Failed');
      expect(isr.status?.failures?.[0]?.message).toContain(`may restore into its own namespace only, not "${openshift}" (map it with namespaceMapping`);
      await cliUntouched(w, evil);
    },
  },
  {
    behaviour: 'a tenant restore that lists openshift/cli with tag latest is refused',
    run: async (w) => {
      const evil = makeImage(`${w.run}-evil-listed`);
      await plantInTenantLocation(w, 'listed', [{ namespace: w.tenant, name: 'app', images: [{ image: evil, tags: [] }] }]);
      await w.createIsr(w.tenant, 'listed', {
        imageStreamsBackupReference: { name: 'planted' }, backupLocation: { velero: w.location('listed') },
        imageStreams: [{ namespace: openshift, name: 'cli', dockerImageReferences: [{ dockerImageReference: `any.registry/${openshift}/cli@${evil.digest}`, tags: ['latest'] }] }],
      });
      const isr = await w.finishedIsr(w.tenant, 'listed');
      expect(isr.status?.phase).toBe('Failed');
      // Nothing selected is left: the restore fails as a whole, saying why.
      expect(readyOf(isr)?.reason).toBe('NoMatchingImageStreams');
      expect(isr.status?.message).toContain(`its own namespace only, not "${openshift}"`);
      await cliUntouched(w, evil);
    },
  },
  {
    behaviour: 'a tenant restore mapping openshift onto its own namespace lands there only (the target is what is checked)',
    run: async (w) => {
      const image = makeImage(`${w.run}-mapped-home`);
      await plantInTenantLocation(w, 'maphome', [{ namespace: openshift, name: 'cli', images: [{ image, tags: ['latest'] }] }]);
      await w.createIsr(w.tenant, 'maphome', {
        imageStreamsBackupReference: { name: 'planted' }, backupLocation: { velero: w.location('maphome') }, namespaceMapping: { [openshift]: w.tenant },
      });
      const isr = await w.finishedIsr(w.tenant, 'maphome');
      expect(isr.status?.phase).toBe('Completed');
      expect(await w.tagDigest(`${w.tenant}/cli`, 'latest')).toBe(image.digest);
      await cliUntouched(w, image);
    },
  },
  {
    behaviour: 'a tenant restore from a location without a credential fails, having read nothing',
    run: async (w) => {
      await w.createIsr(w.tenant, 'nocred', {
        imageStreamsBackupReference: { name: 'planted' }, backupLocation: { velero: w.location('overwrite', ({ credential: _none, ...l }) => l) },
      });
      const isr = await w.finishedIsr(w.tenant, 'nocred');
      expect(isr.status?.phase).toBe('Failed');
      expect(readyOf(isr)?.reason).toBe('CredentialRequired');
      expect(isr.status?.message).toMatch(/gave up after 5s .*names no credential, so it would use the controller's own identity/);
      expect(isr.status?.progress?.images?.done ?? 0).toBe(0);
    },
  },
];

table('tenancy: backups', 'backups', () => world, backupCases);
table('tenancy: restores', 'restores', () => world, restoreCases);
