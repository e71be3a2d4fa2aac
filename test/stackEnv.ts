// Reads the local stack's .stack/env (written by `hack/stack.sh up`).
import { readFileSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

export interface StackEnv {
  KUBECONFIG: string;
  S3_ENDPOINT: string;
  S3_ACCESS_KEY: string;
  S3_SECRET_KEY: string;
  S3_BUCKET: string;
  S3_REGION: string;
  S3_CA_FILE: string;
  REGISTRY: string;
  REGISTRY_CA_FILE: string;
  REGISTRY_USER: string;
  REGISTRY_PASSWORD: string;
  STACK_BIN: string;
  /** Where the stack's Velero server runs (hack/stack.sh: velero). */
  VELERO_NAMESPACE: string;
  /** Azurite: the Blob service URL of the stack's storage account (https://127.0.0.1:<port>/<account>), its key, its container. */
  AZURE_ENDPOINT?: string;
  AZURE_ACCOUNT?: string;
  AZURE_KEY?: string;
  AZURE_CONTAINER?: string;
  AZURE_CA_FILE?: string;
  /** fake-gcs-server: its URL, its bucket, and a service account key file (which it does not check). */
  GCS_ENDPOINT?: string;
  GCS_BUCKET?: string;
  GCS_KEY_FILE?: string;
  GCS_CA_FILE?: string;
}

const PROVIDER_KEYS = ['AZURE_ENDPOINT', 'AZURE_ACCOUNT', 'AZURE_KEY', 'AZURE_CONTAINER', 'AZURE_CA_FILE', 'GCS_ENDPOINT', 'GCS_BUCKET', 'GCS_KEY_FILE', 'GCS_CA_FILE'] as const;

/** The stack with its Azure and GCS emulators (a stack started before they were added lacks them: down and up again). */
export type ProviderStackEnv = StackEnv & Required<Pick<StackEnv, typeof PROVIDER_KEYS[number]>>;

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export function parseEnvFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (m) out[m[1]!] = m[2]!;
  }
  return out;
}

export function loadStackEnv(file = process.env.STACK_ENV || path.join(repoRoot, '.stack', 'env')): StackEnv {
  if (!existsSync(file)) {
    throw new Error(`${file} not found: start the local stack with 'bash hack/stack.sh up'`);
  }
  const env = parseEnvFile(readFileSync(file, 'utf8'));
  const keys: (keyof StackEnv)[] = ['KUBECONFIG', 'S3_ENDPOINT', 'S3_ACCESS_KEY', 'S3_SECRET_KEY', 'S3_BUCKET',
    'S3_REGION', 'S3_CA_FILE', 'REGISTRY', 'REGISTRY_CA_FILE', 'REGISTRY_USER', 'REGISTRY_PASSWORD', 'STACK_BIN', 'VELERO_NAMESPACE'];
  const missing = keys.filter((k) => !env[k]);
  if (missing.length) throw new Error(`${file} lacks ${missing.join(', ')}: run 'bash hack/stack.sh up' again`);
  return env as unknown as StackEnv;
}

/** A short random suffix for names that must not collide between parallel test files. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${Math.random().toString(36).slice(2, 8)}`;
}

export function loadProviderStackEnv(file?: string): ProviderStackEnv {
  const env = loadStackEnv(file);
  const missing = PROVIDER_KEYS.filter((k) => !env[k]);
  if (missing.length) throw new Error(`the stack's env lacks ${missing.join(', ')}: run 'bash hack/stack.sh down' and 'up' again`);
  return env as ProviderStackEnv;
}
