import { orphanRule, type BundleOwner } from './orphans.js';

const cluster = 'c-1';
const live = new Map([['ns/kept', 'uid-kept'], ['ns/reused', 'uid-new']]);
const rule = (ours: string | undefined = cluster) => orphanRule({
  ...(ours && { cluster: ours }),
  watchedNamespaces: new Set(['ns']),
  liveUid: async (ns, name) => live.get(`${ns}/${name}`),
});
const owner = (o: Partial<BundleOwner>): BundleOwner => ({ namespace: 'ns', name: 'gone', uid: 'uid-gone', cluster, deletionPolicy: 'Delete', ...o });

describe('the orphan rule', () => {
  test.each<[string, BundleOwner, boolean]>([
    ['a bundle of this cluster whose ISB is gone is orphaned', owner({}), true],
    ['a bundle whose ISB name now belongs to another uid is orphaned', owner({ name: 'reused', uid: 'uid-old' }), true],
    ['a bundle whose ISB lives is kept', owner({ name: 'kept', uid: 'uid-kept' }), false],
    ['a bundle of another cluster is never touched', owner({ cluster: 'c-2' }), false],
    ['a bundle without a cluster identity (older, or imported) is never touched', owner({ cluster: undefined }), false],
    ['a Retain bundle is never touched', owner({ deletionPolicy: 'Retain' }), false],
    ['a bundle of an unwatched namespace is never touched', owner({ namespace: 'elsewhere' }), false],
  ])('%s', async (_name, o, orphaned) => {
    expect(await rule()(o)).toBe(orphaned);
  });

  test('a controller that does not know its cluster finds nothing orphaned', async () => {
    expect(await orphanRule({ watchedNamespaces: new Set(['ns']), liveUid: async () => undefined })(owner({}))).toBe(false);
  });
});
