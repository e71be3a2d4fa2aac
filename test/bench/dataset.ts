// The benchmark's data set, as a plan: image streams, their references and tags, and the
// layers of each platform image, drawn from a pinned seed so that two runs of one scale
// move the same bytes. Pushing it is pushDataset.ts's job.
import { createHash } from 'node:crypto';

export type Scale = 'small' | 'reference' | 'large';
export const SCALES: readonly Scale[] = ['small', 'reference', 'large'];

/** Bumping it changes every byte of the data set; keep it while runs must stay comparable. */
export const DATASET_SEED = 'imagestream-backup-bench-v1';

const KiB = 1024;
const MiB = 1024 * KiB;

interface ScaleSpec {
  streams: number;
  imagesPerStream: number;
  /** Every n-th image is a two-platform index (0: none). */
  multiPlatformEvery: number;
  /** Base images; each has its own layers per architecture, shared by the images built on it. */
  bases: number;
  baseLayers: number;
  baseLayerBytes: [number, number];
  uniqueLayers: number;
  uniqueLayerBytes: [number, number];
  /** One small layer per platform image too, as real images end with a few small ones. */
  smallLayerBytes: [number, number];
  /** References also listed in a second image stream (another repository), as OpenShift does across namespaces. */
  crossStreamRefs: number;
}

const SPECS: Record<Scale, ScaleSpec> = {
  small: {
    streams: 3, imagesPerStream: 3, multiPlatformEvery: 3, bases: 2, baseLayers: 2, baseLayerBytes: [2 * MiB, 8 * MiB],
    uniqueLayers: 2, uniqueLayerBytes: [1 * MiB, 4 * MiB], smallLayerBytes: [4 * KiB, 512 * KiB], crossStreamRefs: 1,
  },
  reference: {
    streams: 10, imagesPerStream: 4, multiPlatformEvery: 3, bases: 3, baseLayers: 2, baseLayerBytes: [20 * MiB, 60 * MiB],
    uniqueLayers: 2, uniqueLayerBytes: [4 * MiB, 26 * MiB], smallLayerBytes: [4 * KiB, 1 * MiB], crossStreamRefs: 4,
  },
  // The "1,000 image streams in one ISB" target: many small images over a few shared bases.
  large: {
    streams: 1000, imagesPerStream: 1, multiPlatformEvery: 50, bases: 2, baseLayers: 2, baseLayerBytes: [20 * MiB, 40 * MiB],
    uniqueLayers: 1, uniqueLayerBytes: [256 * KiB, 1536 * KiB], smallLayerBytes: [4 * KiB, 64 * KiB], crossStreamRefs: 10,
  },
};

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

/** A layer: `seed` and `payloadBytes` decide its bytes (see gzipLayer.ts). */
export interface LayerPlan {
  seed: string;
  payloadBytes: number;
}

export interface PlatformImagePlan {
  platform: Platform;
  layers: LayerPlan[];
  /** Makes the config, and so the image digest, unique. */
  label: string;
}

export interface ReferencePlan {
  tags: string[];
  format: 'oci' | 'docker';
  /** One entry: a plain image; more: an index over them. */
  images: PlatformImagePlan[];
}

export interface StreamPlan {
  name: string;
  references: ReferencePlan[];
  /** Indexes into other streams' references that this stream lists too (same digest, this repository). */
  alsoLists: Array<{ stream: number; reference: number; tags: string[] }>;
}

export interface DataSetPlan {
  scale: Scale;
  seed: string;
  /** Registry namespace (the first path segment of every repository). */
  namespace: string;
  streams: StreamPlan[];
}

const AMD64: Platform = { os: 'linux', architecture: 'amd64' };
const ARM64: Platform = { os: 'linux', architecture: 'arm64', variant: 'v8' };

/** A small deterministic PRNG (mulberry32) seeded from a string. */
export function prng(seed: string): () => number {
  let a = createHash('sha256').update(seed).digest().readUInt32LE(0);
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function planDataSet(scale: Scale, opts: { bigLayerGiB?: number; seed?: string } = {}): DataSetPlan {
  const spec = SPECS[scale];
  const seed = opts.seed ?? DATASET_SEED;
  const rnd = prng(`${seed}/${scale}`);
  const between = ([lo, hi]: [number, number]) => Math.round(lo + rnd() * (hi - lo));
  const layer = (name: string, range: [number, number]): LayerPlan => ({ seed: `${seed}/${name}`, payloadBytes: between(range) });

  const bases = new Map<string, LayerPlan[]>(); // `${base}/${arch}`
  for (let b = 0; b < spec.bases; b++) {
    for (const p of [AMD64, ARM64]) {
      bases.set(`${b}/${p.architecture}`, Array.from({ length: spec.baseLayers }, (_, l) => layer(`base${b}/${p.architecture}/${l}`, spec.baseLayerBytes)));
    }
  }

  const streams: StreamPlan[] = [];
  let imageNo = 0;
  for (let s = 0; s < spec.streams; s++) {
    const name = `app-${String(s).padStart(scale === 'large' ? 4 : 2, '0')}`;
    const references: ReferencePlan[] = [];
    for (let i = 0; i < spec.imagesPerStream; i++, imageNo++) {
      const base = Math.floor(rnd() * spec.bases);
      const multi = spec.multiPlatformEvery > 0 && imageNo % spec.multiPlatformEvery === spec.multiPlatformEvery - 1;
      const images = (multi ? [AMD64, ARM64] : [AMD64]).map((platform): PlatformImagePlan => {
        const id = `${name}/${i}/${platform.architecture}`;
        return {
          platform,
          label: id,
          layers: [
            ...bases.get(`${base}/${platform.architecture}`)!,
            ...Array.from({ length: spec.uniqueLayers }, (_, l) => layer(`${id}/${l}`, spec.uniqueLayerBytes)),
            layer(`${id}/small`, spec.smallLayerBytes),
          ],
        };
      });
      // Newest first, as an image stream lists them; the newest also carries `latest`.
      const version = `v1.${spec.imagesPerStream - 1 - i}`;
      references.push({ tags: i === 0 ? ['latest', version] : [version], format: s % 2 === 0 ? 'oci' : 'docker', images });
    }
    streams.push({ name, references, alsoLists: [] });
  }

  // Cross-stream references: the last streams also list a reference of the first ones.
  for (let k = 0; k < Math.min(spec.crossStreamRefs, spec.streams - 1); k++) {
    streams[spec.streams - 1 - k]!.alsoLists.push({ stream: k, reference: 0, tags: [`from-${streams[k]!.name}`] });
  }

  if (opts.bigLayerGiB) {
    const big = layer('big', [0, 0]);
    big.payloadBytes = Math.round(opts.bigLayerGiB * 1024 * MiB);
    streams.push({
      name: 'big',
      references: [{ tags: ['latest'], format: 'oci', images: [{ platform: AMD64, label: 'big', layers: [bases.get(`0/amd64`)![0]!, big] }] }],
      alsoLists: [],
    });
  }
  return { scale, seed, namespace: `bench-${scale}`, streams };
}
