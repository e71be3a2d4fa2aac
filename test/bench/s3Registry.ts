// Extra distribution registries the benchmark starts from the stack's own binary, on free
// loopback ports with the stack's TLS certificate:
// - S3-backed, on the stack's MinIO under a prefix of its own: the target of today's path
//   (the Velero plugin pushes through an embedded distribution registry with the S3 driver)
//   and of crane. No auth, as the plugin's embedded registry has none.
// - filesystem-backed and empty, with the stack's htpasswd: the restore targets.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, readFileSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import https from 'node:https';
import path from 'node:path';
import type { StackEnv } from '../stackEnv.js';
import { freePort, stopChild, track } from './processes.js';

export interface RegistryProcess {
  /** host:port */
  host: string;
  /** Filesystem registries: the storage folder; S3 ones: the key prefix in the bucket. */
  storage: string;
  stop(): Promise<void>;
}

/** `dir`: the run's folder, for the registry's config and log (and a filesystem registry's data). */
export async function startS3Registry(env: StackEnv, dir: string, name: string, prefix: string): Promise<RegistryProcess> {
  const storage = `storage:
  s3:
    accesskey: ${env.S3_ACCESS_KEY}
    secretkey: ${env.S3_SECRET_KEY}
    region: ${env.S3_REGION}
    regionendpoint: ${env.S3_ENDPOINT}
    forcepathstyle: true
    bucket: ${env.S3_BUCKET}
    rootdirectory: /${prefix.replace(/\/+$/, '')}
    secure: true
  redirect: {disable: true}
  maintenance: {uploadpurging: {enabled: false}}`;
  // aws-sdk-go (the S3 driver) trusts AWS_CA_BUNDLE: MinIO's certificate stays verified.
  const reg = await startRegistry(env, dir, name, storage, false, { AWS_CA_BUNDLE: env.S3_CA_FILE });
  return { ...reg, storage: prefix };
}

export async function startFilesystemRegistry(env: StackEnv, dir: string, name: string): Promise<RegistryProcess> {
  const data = path.join(dir, name);
  await rm(data, { recursive: true, force: true });
  await mkdir(data, { recursive: true });
  const storage = `storage:
  filesystem: {rootdirectory: ${data}}
  delete: {enabled: true}
  maintenance: {uploadpurging: {enabled: false}}`;
  const reg = await startRegistry(env, dir, name, storage, true, {});
  return {
    ...reg, storage: data,
    stop: async () => {
      await reg.stop();
      await rm(data, { recursive: true, force: true });
    },
  };
}

async function startRegistry(
  env: StackEnv, dir: string, name: string, storage: string, auth: boolean, extraEnv: Record<string, string>,
): Promise<Omit<RegistryProcess, 'storage'>> {
  const pki = path.dirname(env.REGISTRY_CA_FILE);
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  await mkdir(dir, { recursive: true });
  const config = path.join(dir, `${name}.yaml`);
  await writeFile(config, `version: 0.1
log: {level: warn, accesslog: {disabled: true}}
${storage}
http:
  addr: ${host}
  secret: ${randomBytes(16).toString('hex')}
  tls: {certificate: ${pki}/server.crt, key: ${pki}/server.key}
${auth ? `auth:\n  htpasswd: {realm: bench-${name}, path: ${stackHtpasswd(env)}}` : ''}
`);
  const log = path.join(dir, `${name}.log`);
  const out = createWriteStream(log);
  const child = track(spawn(path.join(env.STACK_BIN, 'registry'), ['serve', config], {
    env: { ...process.env, OTEL_TRACES_EXPORTER: 'none', ...extraEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
  }));
  child.stdout!.pipe(out);
  child.stderr!.pipe(out);
  const stop = () => stopChild(child);
  try {
    await waitReady(child, host, env.REGISTRY_CA_FILE, log);
  } catch (err) {
    await stop();
    throw err;
  }
  return { host, stop };
}

async function waitReady(child: ChildProcess, host: string, caFile: string, log: string): Promise<void> {
  const ca = readFileSync(caFile);
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`a registry exited with ${child.exitCode} during start-up: see ${log}`);
    const status = await new Promise<number>((resolve) => {
      https.get(`https://${host}/v2/`, { ca }, (res) => { res.resume(); resolve(res.statusCode ?? 0); })
        .on('error', () => resolve(0));
    });
    if (status === 200 || status === 401) return;
    if (Date.now() > deadline) throw new Error(`a registry was not ready on ${host} after 30s: see ${log}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The stack's htpasswd file (hack/stack.sh writes it beside the kubeconfig): the same user works everywhere. */
function stackHtpasswd(env: StackEnv): string {
  return path.join(path.dirname(env.KUBECONFIG), 'registry-htpasswd');
}
