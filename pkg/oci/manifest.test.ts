import { parseManifest } from './manifest.js';
import {
  DOCKER_CONFIG, DOCKER_LAYER, DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, DOCKER_SCHEMA1, DOCKER_SCHEMA1_SIGNED,
  OCI_CONFIG, OCI_INDEX, OCI_LAYER, OCI_MANIFEST,
} from './mediaTypes.js';
import { StalledError } from '../errors.js';

const d = (c: string) => `sha256:${c.repeat(64)}`;
const config = (mediaType: string) => ({ mediaType, digest: d('c'), size: 10 });
const layer = (mediaType: string, c: string) => ({ mediaType, digest: d(c), size: 100 });
const bytes = (doc: unknown) => Buffer.from(JSON.stringify(doc));

const dockerImage = { schemaVersion: 2, mediaType: DOCKER_MANIFEST, config: config(DOCKER_CONFIG), layers: [layer(DOCKER_LAYER, '1'), layer(DOCKER_LAYER, '2')] };
const ociImage = { schemaVersion: 2, mediaType: OCI_MANIFEST, config: config(OCI_CONFIG), layers: [layer(OCI_LAYER, '1')] };
const ociImageNoMediaType = { schemaVersion: 2, config: config(OCI_CONFIG), layers: [layer(OCI_LAYER, '3')] };
const platforms = [{ architecture: 'amd64', os: 'linux' }, { architecture: 'arm64', os: 'linux', variant: 'v8' }];
const dockerList = { schemaVersion: 2, mediaType: DOCKER_MANIFEST_LIST, manifests: platforms.map((platform, i) => ({ mediaType: DOCKER_MANIFEST, digest: d(String(i + 4)), size: 500, platform })) };
const ociIndex = { schemaVersion: 2, mediaType: OCI_INDEX, manifests: platforms.map((platform, i) => ({ mediaType: OCI_MANIFEST, digest: d(String(i + 6)), size: 500, platform })) };
const ociIndexNoMediaType = { schemaVersion: 2, manifests: [{ mediaType: OCI_MANIFEST, digest: d('8'), size: 1 }] };

describe('parseManifest: supported kinds', () => {
  it.each([
    ['a Docker schema 2 image', dockerImage, DOCKER_MANIFEST, 'image', DOCKER_MANIFEST, 3],
    ['an OCI image', ociImage, OCI_MANIFEST, 'image', OCI_MANIFEST, 2],
    ['an OCI image served as application/json', ociImage, 'application/json', 'image', OCI_MANIFEST, 2],
    ['an OCI image without mediaType, told by its shape', ociImageNoMediaType, undefined, 'image', OCI_MANIFEST, 2],
    ['a Docker manifest list', dockerList, DOCKER_MANIFEST_LIST, 'index', DOCKER_MANIFEST_LIST, 2],
    ['an OCI index', ociIndex, OCI_INDEX, 'index', OCI_INDEX, 2],
    ['an OCI index without mediaType, told by its shape', ociIndexNoMediaType, undefined, 'index', OCI_INDEX, 1],
  ])('%s', (_name, doc, served, kind, mediaType, children) => {
    const parsed = parseManifest({ bytes: bytes(doc), mediaType: served });
    expect(parsed.kind).toBe(kind);
    expect(parsed.mediaType).toBe(mediaType);
    expect(parsed.children).toHaveLength(children);
  });

  it('gives an image its config first, then its layers in order', () => {
    const parsed = parseManifest({ bytes: bytes(dockerImage), mediaType: DOCKER_MANIFEST });
    if (parsed.kind !== 'image') throw new Error('expected an image');
    expect(parsed.config.digest).toBe(d('c'));
    expect(parsed.layers.map((l) => l.digest)).toEqual([d('1'), d('2')]);
    expect(parsed.children.map((c) => c.digest)).toEqual([d('c'), d('1'), d('2')]);
  });

  it('keeps every platform of an index', () => {
    const parsed = parseManifest({ bytes: bytes(ociIndex), mediaType: OCI_INDEX });
    if (parsed.kind !== 'index') throw new Error('expected an index');
    expect(parsed.manifests.map((m) => m.platform)).toEqual(platforms);
  });
});

describe('parseManifest: refusals', () => {
  const schema1 = { schemaVersion: 1, name: 'x', tag: 'latest', fsLayers: [], history: [] };
  it.each([
    ['schema 1 by served media type', schema1, DOCKER_SCHEMA1, 'UnsupportedManifest', /Docker schema 1 manifest.*push the image again/],
    ['signed schema 1 by served media type', schema1, DOCKER_SCHEMA1_SIGNED, 'UnsupportedManifest', /Docker schema 1/],
    ['schema 1 served as application/json', schema1, 'application/json', 'UnsupportedManifest', /Docker schema 1/],
    ['an unknown media type', { ...ociImage, mediaType: 'application/x-foo' }, 'application/x-foo', 'UnsupportedManifest', /application\/x-foo.*not supported/],
    ['a layer with a bad digest', { ...ociImage, layers: [{ ...layer(OCI_LAYER, '1'), digest: 'sha256:zz' }] }, OCI_MANIFEST, 'InvalidManifest', /layers\[0\]\.digest/],
    ['a negative size', { ...ociImage, config: { ...config(OCI_CONFIG), size: -1 } }, OCI_MANIFEST, 'InvalidManifest', /config\.size/],
    ['an image without layers', { schemaVersion: 2, mediaType: OCI_MANIFEST, config: config(OCI_CONFIG) }, OCI_MANIFEST, 'InvalidManifest', /"layers" array/],
    ['an index without manifests', { schemaVersion: 2, mediaType: OCI_INDEX }, OCI_INDEX, 'InvalidManifest', /"manifests" array/],
    ['schemaVersion 3', { ...ociImage, schemaVersion: 3 }, OCI_MANIFEST, 'InvalidManifest', /schemaVersion is 3/],
  ])('refuses %s', (_name, doc, served, reason, message) => {
    let error: unknown;
    try {
      parseManifest({ bytes: bytes(doc), mediaType: served, digest: d('f') });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(StalledError);
    expect((error as StalledError).reason).toBe(reason);
    expect((error as StalledError).message).toMatch(message);
    expect((error as StalledError).message).toContain(d('f'));
  });

  it('refuses bytes that are not JSON', () => {
    expect(() => parseManifest({ bytes: Buffer.from('<html>'), mediaType: OCI_MANIFEST })).toThrow(/not JSON/);
  });
});
