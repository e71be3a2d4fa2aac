// What a data set amounts to: the bytes each method has to move. `unique` is every layer and
// config once; `logical` is every reference's whole tree counted on its own, as a copy that
// knows nothing of sharing would see it; `oadpPath` is what today's path copies, since skopeo
// keeps one platform (linux/amd64 here) of every index by default.
import type { DataSet, DataSetReference } from './pushDataset.js';

export interface DataSetStats {
  imageStreams: number;
  references: number;
  multiPlatformReferences: number;
  platformImages: number;
  tags: number;
  uniqueLayers: number;
  uniqueBlobs: number;
  uniqueBytes: number;
  logicalBytes: number;
  oadpPathBytes: number;
  largestLayerBytes: number;
}

export function dataSetStats(ds: DataSet): DataSetStats {
  const refs = ds.streams.flatMap((s) => s.references);
  const sizeOf = (d: string) => ds.blobs.get(d)?.size ?? 0;
  const treeBlobs = (r: DataSetReference) => r.images.flatMap((i) => i.blobs);
  const oadp = new Set(refs.flatMap((r) => r.tags.map(() => defaultPlatform(r).blobs).flat()));
  const layers = [...ds.blobs.values()].filter((b) => b.kind === 'layer');
  return {
    imageStreams: ds.streams.length,
    references: refs.length,
    multiPlatformReferences: refs.filter((r) => r.images.length > 1).length,
    platformImages: new Set(refs.flatMap((r) => r.images.map((i) => i.digest))).size,
    tags: refs.reduce((n, r) => n + r.tags.length, 0),
    uniqueLayers: layers.length,
    uniqueBlobs: ds.blobs.size,
    uniqueBytes: [...ds.blobs.values()].reduce((n, b) => n + b.size, 0),
    logicalBytes: refs.reduce((n, r) => n + [...new Set(treeBlobs(r))].reduce((m, d) => m + sizeOf(d), 0), 0),
    oadpPathBytes: [...oadp].reduce((n, d) => n + sizeOf(d), 0),
    largestLayerBytes: Math.max(0, ...layers.map((b) => b.size)),
  };
}

/** The platform skopeo picks from an index on this machine (linux/amd64). */
export function defaultPlatform(r: DataSetReference) {
  return r.images.find((i) => i.platform.os === 'linux' && i.platform.architecture === 'amd64') ?? r.images[0]!;
}
