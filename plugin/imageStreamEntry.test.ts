import { imageStreamEntry, LimitError, MAX_REFERENCES_PER_STREAM, registryHostOf, type ImageStream } from './imageStreamEntry.js';

const REG = 'image-registry.openshift-image-registry.svc:5000';
const d = (c: string) => `sha256:${c.repeat(64)}`;
const ev = (digest: string, created: string, host = REG, repo = 'shop/web') => ({ created, dockerImageReference: `${host}/${repo}@${digest}` });
const stream = (tags: NonNullable<ImageStream['status']>['tags']): ImageStream =>
  ({ metadata: { name: 'web', namespace: 'shop' }, status: { dockerImageRepository: `${REG}/shop/web`, tags } });

test('the registry host is the one of status.dockerImageRepository', () => {
  expect(registryHostOf(stream([]))).toBe(REG);
  expect(registryHostOf({ status: {} })).toBeUndefined();
});

test('one reference per digest, newest first; a tag goes with its current image only', () => {
  const got = imageStreamEntry(stream([
    { tag: 'v1', items: [ev(d('b'), '2025-02-01T00:00:00Z'), ev(d('a'), '2025-01-01T00:00:00Z')] },
    { tag: 'latest', items: [ev(d('c'), '2025-03-01T00:00:00Z'), ev(d('b'), '2025-02-02T00:00:00Z')] },
    { tag: 'prod', items: [ev(d('b'), '2025-02-03T00:00:00Z')] },
  ]), REG);
  expect(got).toEqual({ otherRegistry: 0, invalid: 0, entry: { name: 'web', namespace: 'shop', dockerImageReferences: [
    { dockerImageReference: `${REG}/shop/web@${d('c')}`, tags: ['latest'] },
    { dockerImageReference: `${REG}/shop/web@${d('b')}`, tags: ['prod', 'v1'] },
    { dockerImageReference: `${REG}/shop/web@${d('a')}`, tags: [] },
  ] } });
});

test('images of other registries and invalid references are counted, not listed; the host compares without case', () => {
  const got = imageStreamEntry(stream([
    { tag: 'ext', items: [ev(d('e'), '2025-01-01T00:00:00Z', 'quay.io', 'org/web')] },
    { tag: 'bytag', items: [{ created: '2025-01-01T00:00:00Z', dockerImageReference: `${REG}/shop/web:latest` }] },
    { tag: 'ok', items: [ev(d('f'), '2025-01-01T00:00:00Z', REG.toUpperCase())] },
  ]), REG);
  expect(got.otherRegistry).toBe(1);
  expect(got.invalid).toBe(1);
  expect(got.entry?.dockerImageReferences).toEqual([{ dockerImageReference: `${REG.toUpperCase()}/shop/web@${d('f')}`, tags: ['ok'] }]);
});

test('a digest also on the internal registry is not counted as another registry\'s', () => {
  const got = imageStreamEntry(stream([
    { tag: 'a', items: [ev(d('a'), '2025-01-01T00:00:00Z', 'quay.io', 'org/web')] },
    { tag: 'b', items: [ev(d('a'), '2025-01-02T00:00:00Z')] },
  ]), REG);
  expect(got.otherRegistry).toBe(0);
  expect(got.entry?.dockerImageReferences).toHaveLength(1);
});

test('no internal image: no entry', () => {
  expect(imageStreamEntry(stream([{ tag: 'x', items: null }]), REG)).toEqual({ otherRegistry: 0, invalid: 0 });
});

test('more images than one entry may hold fail with the limit named', () => {
  const items = Array.from({ length: MAX_REFERENCES_PER_STREAM + 1 }, (_, i) =>
    ev(`sha256:${i.toString(16).padStart(64, '0')}`, '2025-01-01T00:00:00Z'));
  expect(() => imageStreamEntry(stream([{ tag: 'all', items }]), REG)).toThrow(LimitError);
  expect(() => imageStreamEntry(stream([{ tag: 'all', items }]), REG)).toThrow(/1001 images .* at most 1000 per image stream/);
  expect(imageStreamEntry(stream([{ tag: 'all', items: items.slice(1) }]), REG).entry?.dockerImageReferences).toHaveLength(1000);
});
