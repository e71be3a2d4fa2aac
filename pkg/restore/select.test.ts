import type { BackupJson } from '../bundle/format.js';
import { selectForRestore, type RestoreSelector } from './select.js';

const d = (c: string) => `sha256:${c.repeat(64)}`;
const backup = {
  backup: { namespace: 'openshift-adp', name: 'nightly', uid: 'u' },
  imageStreams: [
    { namespace: 'openshift', name: 'ruby', references: [{ digest: d('1'), mediaType: 'm', tags: ['latest'] }] },
    { namespace: 'team-a', name: 'ruby', references: [{ digest: d('2'), mediaType: 'm', tags: ['v2'] }] },
    { namespace: 'team-a', name: 'api', references: [{ digest: d('3'), mediaType: 'm', tags: ['latest', 'v3'] }, { digest: d('4'), mediaType: 'm', tags: ['v2'] }] },
  ],
} as unknown as BackupJson;
const host = 'image-registry.openshift-image-registry.svc:5000';
const byRef = (path: string, c: string, tags: string[]) => ({ dockerImageReference: `${host}/${path}@${d(c)}`, tags });
const shape = (s: ReturnType<typeof selectForRestore>) => s.targets.map((t) => [t.repo, t.references.map((r) => [r.digest.slice(7, 8), r.tags])]);

describe('selectForRestore', () => {
  it.each<{ name: string; sel: RestoreSelector[]; mapping?: Record<string, string>; want: unknown[] }>([
    { name: 'everything, with the backup\'s tags, when nothing is named', sel: [],
      want: [['openshift/ruby', [['1', ['latest']]]], ['team-a/ruby', [['2', ['v2']]]], ['team-a/api', [['3', ['latest', 'v3']], ['4', ['v2']]]]] },
    { name: 'one image stream by namespace and name', sel: [{ namespace: 'team-a', name: 'api' }],
      want: [['team-a/api', [['3', ['latest', 'v3']], ['4', ['v2']]]]] },
    { name: 'every image stream of a namespace', sel: [{ namespace: 'team-a' }],
      want: [['team-a/ruby', [['2', ['v2']]]], ['team-a/api', [['3', ['latest', 'v3']], ['4', ['v2']]]]] },
    { name: 'a name without a namespace, in every namespace of the backup', sel: [{ name: 'ruby' }],
      want: [['openshift/ruby', [['1', ['latest']]]], ['team-a/ruby', [['2', ['v2']]]]] },
    { name: 'overlapping selections once', sel: [{ namespace: 'team-a' }, { namespace: 'team-a', name: 'ruby' }],
      want: [['team-a/ruby', [['2', ['v2']]]], ['team-a/api', [['3', ['latest', 'v3']], ['4', ['v2']]]]] },
    { name: 'the target namespace from namespaceMapping (selectors name the backup\'s)', sel: [{ namespace: 'team-a', name: 'ruby' }], mapping: { 'team-a': 'team-b' },
      want: [['team-b/ruby', [['2', ['v2']]]]] },
    { name: 'exactly the listed images with exactly the listed tags', sel: [{ namespace: 'team-a', name: 'api', dockerImageReferences: [byRef('team-a/api', '4', ['stable'])] }],
      want: [['team-a/api', [['4', ['stable']]]]] },
    { name: 'a digest found in another image stream, into the entry\'s', sel: [{ namespace: 'team-a', name: 'web', dockerImageReferences: [byRef('openshift/ruby', '1', ['base'])] }],
      want: [['team-a/web', [['1', ['base']]]]] },
    { name: 'the namespace from the reference\'s path, whatever its registry host', sel: [{ name: 'copy', dockerImageReferences: [{ dockerImageReference: `quay.io/team-a/api@${d('3')}`, tags: [] }] }],
      want: [['team-a/copy', [['3', []]]]] },
    { name: 'namespace and name from the path when the entry has neither', sel: [{ dockerImageReferences: [byRef('team-a/api', '3', ['x'])] }], mapping: { 'team-a': 't' },
      want: [['t/api', [['3', ['x']]]]] },
  ])('selects $name', ({ sel, mapping, want }) => {
    const s = selectForRestore(backup, sel, mapping);
    expect(shape(s)).toEqual(want);
    expect(s.failures).toEqual([]);
    expect(s.images).toBe(want.reduce((n: number, t) => n + (t as [string, unknown[]])[1].length, 0));
  });

  it.each<{ name: string; sel: RestoreSelector[]; failure: object; repos: string[] }>([
    { name: 'an image stream that is not in the backup', sel: [{ namespace: 'x', name: 'missing' }, { name: 'api' }],
      failure: { imageStream: 'x/missing', reference: '', message: 'image stream x/missing is not in backup "nightly"' }, repos: ['team-a/api'] },
    { name: 'a name that is in no namespace', sel: [{ name: 'nope' }, { namespace: 'openshift' }],
      failure: { imageStream: '*/nope', reference: '', message: 'image stream nope (in any namespace) is not in backup "nightly"' }, repos: ['openshift/ruby'] },
    { name: 'a namespace that is not in the backup', sel: [{ namespace: 'gone' }, { namespace: 'openshift' }],
      failure: { imageStream: 'gone/*', reference: '', message: 'namespace gone is not in backup "nightly"' }, repos: ['openshift/ruby'] },
    { name: 'a digest that is not in the backup, naming it', sel: [{ namespace: 'team-a', name: 'api', dockerImageReferences: [byRef('team-a/api', '9', ['v9']), byRef('team-a/api', '3', ['v3'])] }],
      failure: { imageStream: 'team-a/api', reference: `${host}/team-a/api@${d('9')}`, message: `image ${d('9')} is not in backup "nightly"` }, repos: ['team-a/api'] },
  ])('reports $name as a failure of its own and selects the rest', ({ sel, failure, repos }) => {
    const s = selectForRestore(backup, sel);
    expect(s.failures).toEqual([failure]);
    expect(s.targets.map((t) => t.repo)).toEqual(repos);
  });
});

describe('selectForRestore outside an admin namespace', () => {
  it('restores into its own namespace only, refusing every other target per image', () => {
    const s = selectForRestore(backup, [{ name: 'ruby' }], { openshift: 'openshift' }, 'team-a');
    expect(s.targets.map((t) => t.repo)).toEqual(['team-a/ruby']);
    expect(s.failures).toEqual([{ imageStream: 'openshift/ruby', reference: d('1'), message: expect.stringMatching(/in namespace team-a may restore into its own namespace only, not "openshift"/) }]);
  });

  it('lets namespaceMapping bring another namespace\'s backup into its own', () => {
    const s = selectForRestore(backup, [{ namespace: 'openshift' }], { openshift: 'team-a' }, 'team-a');
    expect(s.targets.map((t) => t.repo)).toEqual(['team-a/ruby']);
    expect(s.failures).toEqual([]);
  });
});
