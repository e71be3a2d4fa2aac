// The benchmark's own S3 client on the stack's MinIO: to count the bytes each method left in
// the store (objects under its prefix, before and after) and to clear its prefixes afterwards.
import https from 'node:https';
import { readFileSync } from 'node:fs';
import { S3Client } from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { sendUploadsUnsigned } from '../../pkg/store/s3/unsignedPayload.js';
import type { StackEnv } from '../stackEnv.js';
import { listPages } from '../fixture/bucket.js';

export { deletePrefix } from '../fixture/bucket.js';

export interface S3ClientOptions {
  maxSockets?: number;
  /** Off by default: the raw pipeline wants nothing but the bytes. */
  checksums?: boolean;
}

export function s3Client(env: StackEnv, opts: S3ClientOptions = {}): S3Client {
  const agent = new https.Agent({ keepAlive: true, maxSockets: opts.maxSockets ?? 64, ca: readFileSync(env.S3_CA_FILE) });
  const client = new S3Client({
    region: env.S3_REGION,
    endpoint: env.S3_ENDPOINT,
    forcePathStyle: true,
    credentials: { accessKeyId: env.S3_ACCESS_KEY, secretAccessKey: env.S3_SECRET_KEY },
    requestChecksumCalculation: opts.checksums ? 'WHEN_SUPPORTED' : 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    requestHandler: new NodeHttpHandler({ httpsAgent: agent }),
  });
  // As the product does: over TLS, uploads are not hashed a second time for the signature.
  sendUploadsUnsigned(client);
  return client;
}

export interface PrefixUsage {
  objects: number;
  bytes: number;
}

export async function prefixUsage(client: S3Client, bucket: string, prefix: string): Promise<PrefixUsage> {
  const usage = { objects: 0, bytes: 0 };
  for await (const page of listPages(client, bucket, prefix)) {
    for (const o of page) {
      usage.objects++;
      usage.bytes += o.Size ?? 0;
    }
  }
  return usage;
}
