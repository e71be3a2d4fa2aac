// What every fault case checks once the fault is gone, with clients of its own: the pool holds
// only whole blobs with the right digest, no multipart upload was left behind, and what was
// restored has the source's digests, blob by blob.
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { GetObjectCommand, ListMultipartUploadsCommand } from '@aws-sdk/client-s3';
import { rawS3, type Crane } from '../datapath-helpers.js';
import { blobDigest, type FixtureRegistry, type PushedImage } from '../fixture/images.js';
import type { StackEnv } from '../stackEnv.js';
import { listPages } from '../fixture/bucket.js';

export interface PoolCheck {
  /** Keys whose content does not hash to their name. */
  mismatched: string[];
  blobs: number;
  bytes: number;
}

/** Reads every object under `<root>blobs/sha256/` and hashes it. */
export async function checkPool(env: StackEnv, root: string): Promise<PoolCheck> {
  const s3 = rawS3(env);
  const out: PoolCheck = { mismatched: [], blobs: 0, bytes: 0 };
  try {
    const prefix = `${root}blobs/sha256/`;
    for await (const page of listPages(s3, env.S3_BUCKET, prefix)) {
      for (const o of page) {
        const hash = createHash('sha256');
        const r = await s3.send(new GetObjectCommand({ Bucket: env.S3_BUCKET, Key: o.Key! }));
        for await (const c of r.Body as Readable) hash.update(c as Buffer);
        if (hash.digest('hex') !== o.Key!.slice(prefix.length)) out.mismatched.push(o.Key!);
        out.blobs++;
        out.bytes += o.Size ?? 0;
      }
    }
  } finally {
    s3.destroy();
  }
  return out;
}

/**
 * Multipart uploads begun and neither completed nor aborted, for each of the keys. One listing
 * per key: MinIO lists the uploads of one object name only, so a listing by folder finds none.
 */
export async function openMultipartUploads(env: StackEnv, keys: string[]): Promise<string[]> {
  const s3 = rawS3(env);
  try {
    const out: string[] = [];
    for (const key of keys) {
      let keyMarker: string | undefined;
      let uploadIdMarker: string | undefined;
      for (;;) {
        const r = await s3.send(new ListMultipartUploadsCommand({ Bucket: env.S3_BUCKET, Prefix: key, KeyMarker: keyMarker, UploadIdMarker: uploadIdMarker }));
        for (const u of r.Uploads ?? []) if (u.Key === key) out.push(`${u.Key}#${u.UploadId}`);
        if (!r.IsTruncated) break;
        keyMarker = r.NextKeyMarker;
        uploadIdMarker = r.NextUploadIdMarker;
      }
    }
    return out;
  } finally {
    s3.destroy();
  }
}

export interface RestoredImage {
  repo: string;
  image: PushedImage;
  tags: string[];
}

/**
 * What differs between the source and the restore: each manifest by digest (crane), each tag,
 * and each layer and config read back and hashed (the fixtures' client). Empty when all match.
 */
export async function restoreDifferences(crane: Crane, reg: FixtureRegistry, registryHost: string, expected: RestoredImage[]): Promise<string[]> {
  const diffs: string[] = [];
  for (const { repo, image, tags } of expected) {
    const got = await crane.digest(`${registryHost}/${repo}@${image.digest}`).catch((e: unknown) => `error: ${String(e).split('\n')[0]}`);
    if (got !== image.digest) diffs.push(`${repo}@${image.digest}: ${got}`);
    for (const t of tags) {
      const tagged = await crane.digest(`${registryHost}/${repo}:${t}`).catch((e: unknown) => `error: ${String(e).split('\n')[0]}`);
      if (tagged !== image.digest) diffs.push(`${repo}:${t} -> ${tagged}, expected ${image.digest}`);
    }
    for (const blob of [image.config, ...image.layers]) {
      const d = await blobDigest(reg, repo, blob.digest).catch((e: unknown) => String(e));
      if (d !== blob.digest) diffs.push(`${repo} blob ${blob.digest}: ${d}`);
    }
  }
  return diffs;
}
