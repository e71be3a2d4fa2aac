import type { BackupJson } from '../../pkg/bundle/format.js';
import { selectImageStreams } from './selectImageStreams.js';

const backup = {
  backup: { namespace: 'adp', name: 'nightly', uid: 'u' },
  imageStreams: [
    { namespace: 'shop', name: 'web', references: [{}, {}] },
    { namespace: 'shop', name: 'db', references: [{}] },
    { namespace: 'blog', name: 'web', references: [{}, {}, {}] },
  ],
} as unknown as BackupJson;

describe('selectImageStreams', () => {
  it.each([
    { name: 'restores everything when no selector is given', sel: [], streams: undefined, unmatched: [], images: 6 },
    { name: 'picks one image stream by namespace and name', sel: [{ namespace: 'blog', name: 'web' }], streams: ['blog/web'], unmatched: [], images: 3 },
    { name: 'expands a namespace selector to its image streams', sel: [{ namespace: 'shop' }], streams: ['shop/web', 'shop/db'], unmatched: [], images: 3 },
    { name: 'names each image stream once when selectors overlap', sel: [{ namespace: 'shop' }, { namespace: 'shop', name: 'db' }], streams: ['shop/web', 'shop/db'], unmatched: [], images: 3 },
    { name: 'reports a selector that names nothing and restores the rest', sel: [{ namespace: 'shop', name: 'db' }, { namespace: 'shop', name: 'cache' }], streams: ['shop/db'], unmatched: ['shop/cache'], images: 1 },
    { name: 'reports a namespace that is not in the backup', sel: [{ namespace: 'blog' }, { namespace: 'wiki' }], streams: ['blog/web'], unmatched: ['wiki/*'], images: 3 },
  ])('$name', ({ sel, streams, unmatched, images }) => {
    const s = selectImageStreams(sel, backup);
    if (s.action !== 'restore') throw new Error(`expected restore, got ${s.action}`);
    expect(s.imageStreams?.map((x) => `${x.namespace}/${x.name}`)).toEqual(streams);
    expect(s.count).toEqual({ imageStreams: streams?.length ?? 3, images });
    expect(s.unmatched.map((f) => f.imageStream)).toEqual(unmatched);
    for (const f of s.unmatched) expect(f.message).toMatch(/is not in backup "nightly"/);
  });

  it('fails instead of restoring everything when no selector matches', () => {
    const s = selectImageStreams([{ namespace: 'wiki' }, { namespace: 'shop', name: 'cache' }], backup);
    expect(s).toEqual({ action: 'fail', message: expect.stringMatching(/none of spec.imageStreams is in backup "nightly".*shop\/web, shop\/db, blog\/web/) });
  });
});
