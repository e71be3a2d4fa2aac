import type { Registry } from '../contracts.js';
import { StalledError, TransientError, type ReconcileError } from '../errors.js';
import type { ObjectStore } from '../store/objectStore.js';
import { runBackup } from './runBackup.js';

const host = 'registry.local:5000';
const digest = (c: string) => `sha256:${c.repeat(64)}`;

/** A registry that answers every manifest read with `error`; nothing else is reached. */
function failingRegistry(error: Error): Registry {
  return { host, getManifest: async () => { throw error; } } as unknown as Registry;
}

// Nothing is resolved, so nothing reaches the store: a bundle would be a bug.
const store = {} as ObjectStore;

describe('runBackup when no image can be backed up', () => {
  it.each([
    { name: 'a lasting failure', error: new StalledError('ManifestUnknown', 'manifest unknown'), kind: StalledError },
    { name: 'only passing failures', error: new TransientError('RegistryUnavailable', 'registry answered 503'), kind: TransientError },
  ])('throws NothingBackedUp after $name, with each image\'s failure', async ({ error, kind }) => {
    const refs = [`${host}/shop/web@${digest('a')}`, `${host}/shop/web@${digest('b')}`];
    const err = await runBackup({
      store, registry: failingRegistry(error), backup: { namespace: 'adp', name: 'b', uid: 'u1' },
      imageStreams: [{ namespace: 'shop', name: 'web', references: refs.map((reference) => ({ reference, tags: [] })) }],
    }).catch((e: unknown) => e as ReconcileError & { failures?: unknown });
    expect(err).toBeInstanceOf(kind);
    expect(err).toMatchObject({ reason: 'NothingBackedUp' });
    // Exactly these fields: the cause (an Error) never goes to a status.
    expect(err.failures).toEqual(refs.map((reference) => ({ imageStream: 'shop/web', reference, message: error.message })));
  });
});
