// What a verification found wrong, one entry per blob, worded for a cluster admin: the digest,
// what is wrong with it, and the image streams that use it (what a restore would lose).
import type { LayerFinding } from './checkLayer.js';

export interface BlobProblem {
  digest: string;
  /** Where the blob is kept: the pool (a layer), or the bundle (a manifest, index or config). */
  location: 'pool' | 'bundle';
  problem: 'missing' | 'wrongSize' | 'wrongDigest';
  expectedSize: number;
  /** wrongSize: the bytes found. */
  actualSize?: number;
  /** wrongDigest, and wrongSize when the object was read whole: what its bytes hash to. */
  actualDigest?: string;
  /** Image streams of the backup (`namespace/name`) that use the blob. */
  imageStreams: string[];
  message: string;
}

const SHOWN_STREAMS = 5;

export function layerProblem(digest: string, expectedSize: number, f: LayerFinding, key: string, imageStreams: string[]): BlobProblem {
  let what: string;
  if (f.problem === 'missing') what = `layer ${digest} is missing from the pool (${key})`;
  else if (f.problem === 'wrongSize') {
    what = `layer ${digest} in the pool (${key}) is ${f.actualSize} bytes, not ${expectedSize}`
      + (f.actualDigest ? `, and hashes to ${f.actualDigest}` : '');
  } else what = `layer ${digest} in the pool (${key}) hashes to ${f.actualDigest}`;
  return {
    digest, location: 'pool', expectedSize, imageStreams, message: `${what}; ${usedBy(imageStreams)}`,
    problem: f.problem,
    ...(f.problem === 'wrongSize' && { actualSize: f.actualSize }),
    ...(f.problem !== 'missing' && f.actualDigest && { actualDigest: f.actualDigest }),
  };
}

export function bundleEntryProblem(digest: string, size: number, actualDigest: string, imageStreams: string[]): BlobProblem {
  return {
    digest, location: 'bundle', problem: 'wrongDigest', expectedSize: size, actualDigest, imageStreams,
    message: `bundle entry ${digest} (a manifest, index or config) hashes to ${actualDigest} when read again; ${usedBy(imageStreams)}`,
  };
}

function usedBy(streams: string[]): string {
  if (streams.length === 0) return 'no image stream of the backup uses it';
  const more = streams.length > SHOWN_STREAMS ? `, and ${streams.length - SHOWN_STREAMS} more` : '';
  return `used by ${streams.slice(0, SHOWN_STREAMS).join(', ')}${more}`;
}
