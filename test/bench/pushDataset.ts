// Pushes a data set plan to the stack's registry with the fixture's registry client, and
// describes what is there: every reference with its digest, and every unique blob with its
// size and a repository it can be read from. Layers already in the registry (a previous run
// of the same scale) are not pushed again: their digests are remembered in .stack/bench.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import pLimit from 'p-limit';
import { expectStatus, request, type FixtureRegistry } from '../fixture/http.js';
import { MediaTypes, blobExists, pushBytes, putManifest, sha256 } from '../fixture/images.js';
import type { DataSetPlan, LayerPlan, Platform, PlatformImagePlan, ReferencePlan } from './dataset.js';
import { gzipLayer, type LayerDigests } from './gzipLayer.js';

export interface BlobInfo {
  digest: string;
  size: number;
  mediaType: string;
  kind: 'layer' | 'config';
  /** A repository that holds it (the first it was pushed to). */
  repo: string;
}

export interface PlatformImage {
  platform: Platform;
  digest: string;
  size: number;
  mediaType: string;
  manifest: Buffer;
  /** Config first, then the layers. */
  blobs: string[];
}

export interface DataSetReference {
  digest: string;
  mediaType: string;
  tags: string[];
  /** The index or list itself, when there is one. */
  index?: Buffer;
  images: PlatformImage[];
}

export interface DataSetStream {
  name: string;
  repo: string; // <namespace>/<name>
  references: DataSetReference[];
}

export interface DataSet {
  plan: DataSetPlan;
  registry: string;
  streams: DataSetStream[];
  /** Every unique layer and config. */
  blobs: Map<string, BlobInfo>;
}

type Cache = Record<string, LayerDigests>;

export async function pushDataSet(reg: FixtureRegistry, plan: DataSetPlan, cacheDir: string): Promise<DataSet> {
  const cacheFile = path.join(cacheDir, 'layer-digests.json');
  const cache: Cache = await readFile(cacheFile, 'utf8').then((t) => JSON.parse(t) as Cache, () => ({}));
  const blobs = new Map<string, BlobInfo>();
  const layerLimit = pLimit(4);

  const ensureLayer = async (repo: string, layer: LayerPlan, mediaType: string): Promise<LayerDigests> => {
    const key = `${layer.seed}:${layer.payloadBytes}`;
    let known = cache[key];
    if (!known || !(await blobExists(reg, repo, known.digest))) {
      const elsewhere = known && blobs.get(known.digest);
      if (!(known && elsewhere && (await mountBlob(reg, repo, known.digest, elsewhere.repo)))) {
        known = await uploadLayer(reg, repo, layer);
        cache[key] = known;
      }
    }
    if (!blobs.has(known.digest)) blobs.set(known.digest, { digest: known.digest, size: known.size, mediaType, kind: 'layer', repo });
    return known;
  };

  const pushPlatformImage = async (repo: string, format: ReferencePlan['format'], image: PlatformImagePlan): Promise<PlatformImage> => {
    const layerType = format === 'oci' ? MediaTypes.ociLayer : MediaTypes.dockerLayer;
    const layers = await Promise.all(image.layers.map((l) => layerLimit(() => ensureLayer(repo, l, layerType))));
    const configJson = Buffer.from(JSON.stringify({
      ...image.platform,
      config: { Labels: { 'bench.image': image.label } },
      rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
    }));
    const config = await pushBytes(reg, repo, configJson, format === 'oci' ? MediaTypes.ociConfig : MediaTypes.dockerConfig);
    if (!blobs.has(config.digest)) blobs.set(config.digest, { ...config, kind: 'config', repo });
    const mediaType = format === 'oci' ? MediaTypes.ociManifest : MediaTypes.dockerManifest;
    const manifest = Buffer.from(JSON.stringify({
      schemaVersion: 2, mediaType, config,
      layers: layers.map((l) => ({ mediaType: layerType, digest: l.digest, size: l.size })),
    }));
    const digest = sha256(manifest);
    await putManifest(reg, repo, digest, manifest, mediaType);
    return { platform: image.platform, digest, size: manifest.length, mediaType, manifest, blobs: [config.digest, ...layers.map((l) => l.digest)] };
  };

  const streams: DataSetStream[] = [];
  for (const s of plan.streams) {
    const repo = `${plan.namespace}/${s.name}`;
    const references: DataSetReference[] = [];
    for (const r of s.references) {
      const images: PlatformImage[] = [];
      for (const i of r.images) images.push(await pushPlatformImage(repo, r.format, i));
      const ref = r.images.length === 1 ? single(images[0]!, r.tags) : await pushIndex(reg, repo, r, images);
      for (const t of r.tags) await putManifest(reg, repo, t, ref.index ?? ref.images[0]!.manifest, ref.mediaType);
      references.push(ref);
    }
    streams.push({ name: s.name, repo, references });
  }
  // Listed in a second stream: the same manifests in another repository, blobs mounted.
  for (const [i, s] of plan.streams.entries()) {
    const target = streams[i]!;
    for (const also of s.alsoLists) {
      const source = streams[also.stream]!.references[also.reference]!;
      for (const image of source.images) {
        for (const d of image.blobs) await mountBlob(reg, target.repo, d, streams[also.stream]!.repo);
        await putManifest(reg, target.repo, image.digest, image.manifest, image.mediaType);
      }
      const top = source.index ?? source.images[0]!.manifest;
      if (source.index) await putManifest(reg, target.repo, source.digest, top, source.mediaType);
      for (const t of also.tags) await putManifest(reg, target.repo, t, top, source.mediaType);
      target.references.push({ ...source, tags: also.tags });
    }
  }
  await mkdir(cacheDir, { recursive: true });
  await writeFile(cacheFile, JSON.stringify(cache, null, 1));
  return { plan, registry: reg.host, streams, blobs };
}

function single(image: PlatformImage, tags: string[]): DataSetReference {
  return { digest: image.digest, mediaType: image.mediaType, tags, images: [image] };
}

async function pushIndex(reg: FixtureRegistry, repo: string, r: ReferencePlan, images: PlatformImage[]): Promise<DataSetReference> {
  const mediaType = r.format === 'oci' ? MediaTypes.ociIndex : MediaTypes.dockerList;
  const index = Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType,
    manifests: images.map((i) => ({ mediaType: i.mediaType, digest: i.digest, size: i.size, platform: i.platform })),
  }));
  const digest = sha256(index);
  await putManifest(reg, repo, digest, index, mediaType);
  return { digest, mediaType, tags: r.tags, index, images };
}

async function mountBlob(reg: FixtureRegistry, repo: string, digest: string, from: string): Promise<boolean> {
  const r = await request(reg, 'POST', `/v2/${repo}/blobs/uploads/?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(from)}`,
    { headers: { 'Content-Length': 0 } });
  if (r.status === 201) return true;
  if (r.status === 202 && r.headers.location) await request(reg, 'DELETE', String(r.headers.location)); // opened an upload instead
  return false;
}

/** One streamed PATCH, then the PUT that commits it under the digest computed on the way. */
async function uploadLayer(reg: FixtureRegistry, repo: string, layer: LayerPlan): Promise<LayerDigests> {
  const started = await expectStatus(request(reg, 'POST', `/v2/${repo}/blobs/uploads/`, { headers: { 'Content-Length': 0 } }),
    [202], `start upload to ${repo}`);
  const { stream, digests } = gzipLayer(layer);
  const patched = await expectStatus(request(reg, 'PATCH', new URL(String(started.headers.location), `https://${reg.host}`).toString(), {
    headers: { 'Content-Type': 'application/octet-stream' }, body: stream,
  }), [202], `patch layer ${layer.seed}`);
  const sent = digests();
  const commit = new URL(String(patched.headers.location), `https://${reg.host}`);
  commit.searchParams.set('digest', sent.digest);
  await expectStatus(request(reg, 'PUT', commit.toString(), { headers: { 'Content-Length': 0 } }), [201], `commit layer ${layer.seed}`);
  return sent;
}
