import type { Registry } from '../contracts.js';
import { StalledError, TransientError, TransientImagesError } from '../errors.js';
import type { ObjectStore } from '../store/objectStore.js';
import { ObjectNotFoundError } from '../store/storeError.js';
import { NothingBackedUpError, runBackup } from './runBackup.js';

const host = 'registry.local:5000';
const digest = (c: string) => `sha256:${c.repeat(64)}`;

/** A registry that answers every manifest read with `error`; nothing else is reached. */
function failingRegistry(error: Error): Registry {
  return { host, getManifest: async () => { throw error; } } as unknown as Registry;
}

// Nothing is resolved, so only the committed bundle is looked for (there is none); the lease is written and deleted.
const store = { bucket: 'b', root: 'p/', put: async () => undefined, delete: async () => undefined, head: async () => undefined, bundleKey: (n: string) => `p/backups/${n}/bundle.tar`, get: async (key: string) => { throw new ObjectNotFoundError(key, 'b'); } } as unknown as ObjectStore;

describe('runBackup when no image can be backed up', () => {
  const refs = [`${host}/shop/web@${digest('a')}`, `${host}/shop/web@${digest('b')}`];
  const input = (error: Error, finalAttempt = false) => ({
    store, registry: failingRegistry(error), backup: { namespace: 'adp', name: 'b', uid: 'u1' }, finalAttempt,
    imageStreams: [{ namespace: 'shop', name: 'web', references: refs.map((reference) => ({ reference, tags: [] })) }],
  });
  const failuresOf = (error: Error) => refs.map((reference) => ({ imageStream: 'shop/web', reference, message: error.message }));

  it('fails for good after a lasting failure, with each image\'s failure and not its cause', async () => {
    const error = new StalledError('ManifestUnknown', 'manifest unknown');
    const err = await runBackup(input(error)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NothingBackedUpError);
    expect(err).toMatchObject({ reason: 'NothingBackedUp', failures: failuresOf(error) });
  });

  it('asks for the run to be tried again after failures that may pass, committing nothing', async () => {
    const error = new TransientError('RegistryUnavailable', 'registry answered 503');
    const err = await runBackup(input(error)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransientImagesError);
    expect(err).toMatchObject({ reason: 'ImagesUnavailable', failures: failuresOf(error) });
  });

  it('makes failures that may pass final on the last attempt', async () => {
    const error = new TransientError('RegistryUnavailable', 'registry answered 503');
    const err = await runBackup(input(error, true)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NothingBackedUpError);
  });
});
