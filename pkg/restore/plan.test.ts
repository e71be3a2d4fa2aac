import type { BackupJson } from '../bundle/format.js';
import { planRestore } from './plan.js';

const d = (c: string) => `sha256:${c.repeat(64)}`;
const backup = {
  backup: { namespace: 'openshift-adp', name: 'nightly', uid: 'u' },
  imageStreams: [
    { namespace: 'openshift', name: 'ruby', references: [{ digest: d('1'), mediaType: 'm', tags: ['latest'] }] },
    { namespace: 'team-a', name: 'ruby', references: [{ digest: d('2'), mediaType: 'm', tags: [] }] },
    { namespace: 'team-a', name: 'api', references: [{ digest: d('3'), mediaType: 'm', tags: [] }, { digest: d('4'), mediaType: 'm', tags: [] }] },
  ],
} as unknown as BackupJson;

describe('planRestore', () => {
  test.each<[string, Parameters<typeof planRestore>[1], string[]]>([
    ['everything when no stream is named', {}, ['openshift/ruby', 'team-a/ruby', 'team-a/api']],
    ['an empty list means everything', { imageStreams: [] }, ['openshift/ruby', 'team-a/ruby', 'team-a/api']],
    ['a name without namespace matches it in every namespace', { imageStreams: [{ name: 'ruby' }] }, ['openshift/ruby', 'team-a/ruby']],
    ['a namespace narrows it', { imageStreams: [{ namespace: 'team-a', name: 'ruby' }] }, ['team-a/ruby']],
    ['namespaceMapping renames the target namespace', { namespaceMapping: { 'team-a': 'team-b' } }, ['openshift/ruby', 'team-b/ruby', 'team-b/api']],
    ['the selector names the backup\'s namespace, before mapping', { imageStreams: [{ namespace: 'team-a', name: 'api' }], namespaceMapping: { 'team-a': 'team-b' } }, ['team-b/api']],
  ])('selects %s', (_name, opts, repos) => {
    const plan = planRestore(backup, opts);
    expect(plan.streams.map((s) => s.repo)).toEqual(repos);
    expect(plan.failures).toEqual([]);
  });

  test('a named stream that is not in the backup is a failure, the others still go', () => {
    const plan = planRestore(backup, { imageStreams: [{ name: 'api' }, { namespace: 'x', name: 'missing' }] });
    expect(plan.streams.map((s) => s.repo)).toEqual(['team-a/api']);
    expect(plan.failures).toEqual([{ imageStream: 'x/missing', reference: '', message: 'image stream x/missing is not in backup nightly' }]);
  });

  test('a mapping to an invalid repository name fails each of its references', () => {
    const plan = planRestore(backup, { imageStreams: [{ name: 'api' }], namespaceMapping: { 'team-a': 'Team_B!' } });
    expect(plan.streams).toEqual([]);
    expect(plan.failures.map((f) => f.reference)).toEqual([d('3'), d('4')]);
  });
});
