// Jest-only (it registers an afterAll), so it is kept apart from datapath-helpers.ts, which
// scripts and the build import too.
import type { S3Client } from '@aws-sdk/client-s3';
import type { RegistryClient } from '../pkg/registry/index.js';
import type { ObjectStore } from '../pkg/store/index.js';
import { openStackStore, rawS3, stackRegistry } from './datapath-helpers.js';
import { deletePrefix } from './fixture/bucket.js';
import { uniqueName, type StackEnv } from './stackEnv.js';

/**
 * For one test file: a registry client, a raw S3 client, and stores on fresh prefixes of the
 * stack's bucket; after the file's tests the prefixes are emptied and everything is closed.
 */
export function dataPathForFile(env: StackEnv, label: string): { registry: RegistryClient; s3: S3Client; newStore(prefix?: string): Promise<ObjectStore> } {
  const registry = stackRegistry(env);
  const s3 = rawS3(env);
  const stores: ObjectStore[] = [];
  afterAll(async () => {
    registry.close();
    await Promise.all(stores.map((s) => deletePrefix(s3, env.S3_BUCKET, s.root)));
    await Promise.all(stores.map((s) => s.close()));
    s3.destroy();
  });
  return {
    registry, s3,
    async newStore(prefix = `${uniqueName(label)}/velero`) {
      const store = await openStackStore(env, prefix);
      stores.push(store);
      return store;
    },
  };
}
