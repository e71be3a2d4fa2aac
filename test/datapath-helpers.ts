// Shared set-up of the data path's integration tests: the stack's MinIO as a BSL (with its
// CA as caCert), the stack's registry, crane as an independent client.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { S3Client } from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import https from 'node:https';
import type { LocationSpec } from '../pkg/contracts.js';
import { createRegistryClient, type RegistryClient } from '../pkg/registry/index.js';
import { openStore, type ObjectStore } from '../pkg/store/index.js';
import type { StackEnv } from './stackEnv.js';

const run = promisify(execFile);

export function stackLocation(env: StackEnv, prefix: string, overrides: { caCert?: string | null; config?: Record<string, string>; bucket?: string } = {}): LocationSpec {
  const caCert = overrides.caCert === null ? undefined : overrides.caCert ?? readFileSync(env.S3_CA_FILE).toString('base64');
  return {
    provider: 'aws',
    objectStorage: { bucket: overrides.bucket ?? env.S3_BUCKET, prefix, ...(caCert && { caCert }) },
    config: { region: env.S3_REGION, s3Url: env.S3_ENDPOINT, s3ForcePathStyle: 'true', ...overrides.config },
    credential: { name: 'cloud-credentials', key: 'cloud' },
  };
}

/** The Secret's `cloud` key as Velero users write it. */
export function credentialsFile(env: StackEnv, profile = 'default', secret = env.S3_SECRET_KEY): string {
  return `[${profile}]\naws_access_key_id = ${env.S3_ACCESS_KEY}\naws_secret_access_key = ${secret}\n`;
}

export function openStackStore(env: StackEnv, prefix: string): Promise<ObjectStore> {
  return openStore({ location: stackLocation(env, prefix), credentials: credentialsFile(env) });
}

export function stackRegistry(env: StackEnv): RegistryClient {
  return createRegistryClient({ host: env.REGISTRY, caFile: env.REGISTRY_CA_FILE, username: env.REGISTRY_USER, password: env.REGISTRY_PASSWORD });
}

/** A raw S3 client of our own, to look at the bucket without trusting the store under test. */
export function rawS3(env: StackEnv): S3Client {
  return new S3Client({
    region: env.S3_REGION,
    endpoint: env.S3_ENDPOINT,
    forcePathStyle: true,
    credentials: { accessKeyId: env.S3_ACCESS_KEY, secretAccessKey: env.S3_SECRET_KEY },
    requestHandler: new NodeHttpHandler({ httpsAgent: new https.Agent({ ca: readFileSync(env.S3_CA_FILE) }) }),
  });
}

/** crane with its own DOCKER_CONFIG, trusting the stack CA through SSL_CERT_FILE (never --insecure). */
export class Crane {
  private constructor(private readonly env: StackEnv, private readonly config: string) {}

  static async login(env: StackEnv): Promise<Crane> {
    const c = new Crane(env, await mkdtemp(path.join(tmpdir(), 'crane-')));
    await c.run(['auth', 'login', env.REGISTRY, '-u', env.REGISTRY_USER, '--password-stdin'], env.REGISTRY_PASSWORD);
    return c;
  }

  async run(args: string[], stdin?: string): Promise<string> {
    const child = run(path.join(this.env.STACK_BIN, 'crane'), args, {
      env: { ...process.env, DOCKER_CONFIG: this.config, SSL_CERT_FILE: this.env.REGISTRY_CA_FILE },
      // `crane copy` of many tags prints more than the default 1 MiB.
      maxBuffer: 16 * 1024 * 1024,
    });
    if (stdin !== undefined) child.child.stdin?.end(stdin);
    return (await child).stdout.trim();
  }

  digest(ref: string): Promise<string> {
    return this.run(['digest', ref]);
  }

  async close(): Promise<void> {
    await rm(this.config, { recursive: true, force: true });
  }
}
