// Which referrers follow which manifests, and what a bundle may say about them.
import { parseBackupJson } from './format.js';
import { referrersOf } from './referrers.js';

const d = (c: string) => `sha256:${c.repeat(64)}`;
const r = (subject: string, digest: string, tags: string[] = []) => ({ subject, digest, mediaType: 'application/vnd.oci.image.manifest.v1+json', tags });

test('reaches referrers of referrers, each after its subject, and nothing attached to other manifests', () => {
  const backup = { referrers: [r(d('s'), d('2')), r(d('1'), d('s')), r(d('9'), d('8')), r(d('2'), d('3'))] };
  expect(referrersOf(backup, [d('1')]).map((x) => x.digest)).toEqual([d('s'), d('2'), d('3')]);
  expect(referrersOf({}, [d('1')])).toEqual([]);
});

function backupJson(referrers: unknown): Buffer {
  return Buffer.from(JSON.stringify({
    formatVersion: 1, productVersion: 'x', backup: { namespace: 'a', name: 'b', uid: 'c' }, imageStreams: [], layers: [], referrers,
    totals: {}, startedAt: '', completedAt: '',
  }));
}

test('a referrer may carry the cosign tags of its own subject only: a bundle cannot move another tag', () => {
  expect(parseBackupJson(backupJson([r(d('1'), d('2'), [`sha256-${'1'.repeat(64)}.sig`])])).referrers).toHaveLength(1);
  expect(() => parseBackupJson(backupJson([r(d('1'), d('2'), ['latest'])]))).toThrow(/has a tag other than/);
  expect(() => parseBackupJson(backupJson([r(d('1'), d('2'), [`sha256-${'3'.repeat(64)}.sig`])]))).toThrow(/has a tag other than/);
  expect(() => parseBackupJson(backupJson({}))).toThrow(/referrers is not a list/);
});
