// How the names of another tool's OCI layout become image streams, tags and referrers.
import type { ManifestDescriptor, ParsedManifest } from '../oci/manifest.js';
import { OCI_INDEX, OCI_MANIFEST } from '../oci/mediaTypes.js';
import { foreignContent, REF_NAME } from './foreignIndex.js';

const d = (c: string) => `sha256:${c.repeat(64)}`;
const desc = (digest: string, name?: string): ManifestDescriptor => ({
  mediaType: OCI_MANIFEST, digest, size: 100, ...(name && { annotations: { [REF_NAME]: name } }),
});
const image = (subject?: string): ParsedManifest => ({
  kind: 'image', mediaType: OCI_MANIFEST, config: desc(d('c')), layers: [], children: [], ...(subject && { subject: desc(subject) }),
});

test('reads oras backup\'s names: bare tags go to the given image stream, unnamed manifests with a subject are referrers', async () => {
  const manifests = [desc(d('1'), 'v1'), desc(d('1'), 'latest'), desc(d('2')), desc(d('3'), `sha256-${'1'.repeat(64)}.sig`), desc(d('4'), `sha256-${'1'.repeat(64)}`), desc(d('6'))];
  const read = async (m: ManifestDescriptor): Promise<ParsedManifest> => {
    if (m.digest === d('2')) return image(d('1'));
    if (m.digest === d('4')) return { kind: 'index', mediaType: OCI_INDEX, manifests: [desc(d('5'))], children: [] };
    return image();
  };
  expect(await foreignContent(manifests, read, 'ns/app', 'archive')).toEqual({
    imageStreams: [{ namespace: 'ns', name: 'app', references: [
      { digest: d('1'), mediaType: OCI_MANIFEST, tags: ['v1', 'latest'] },
      { digest: d('6'), mediaType: OCI_MANIFEST, tags: [] },
    ] }],
    referrers: [
      { subject: d('1'), digest: d('2'), mediaType: OCI_MANIFEST, tags: [] },
      { subject: d('1'), digest: d('3'), mediaType: OCI_MANIFEST, tags: [`sha256-${'1'.repeat(64)}.sig`] },
      { subject: d('1'), digest: d('5'), mediaType: OCI_MANIFEST, tags: [] },
    ],
  });
});

test('reads this product\'s names (<namespace>/<image stream>:<tag> and @<digest>) without being told an image stream', async () => {
  const content = await foreignContent([desc(d('1'), 'a/app:v1'), desc(d('2'), `b/db@${d('2')}`)], async () => image(), undefined, 'archive');
  expect(content.imageStreams.map((s) => [s.namespace, s.name, s.references.map((r) => [r.digest, r.tags])])).toEqual([
    ['a', 'app', [[d('1'), ['v1']]]], ['b', 'db', [[d('2'), []]]],
  ]);
});

test('a bare tag without --image-stream is refused, naming the flag', async () => {
  await expect(foreignContent([desc(d('1'), 'v1')], async () => image(), undefined, 'archive x')).rejects.toThrow(/--image-stream/);
});
