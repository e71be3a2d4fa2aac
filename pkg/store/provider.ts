// The object store providers, spelled as Velero spells them in a BSL: the short name or the
// plugin's full name (velero.io/aws, velero.io/azure, velero.io/gcp).
import { invalidLocation } from './storeError.js';

export type Provider = 'aws' | 'azure' | 'gcp';

/** Velero's provider names, both spellings, to this product's. */
export const PROVIDERS: ReadonlyMap<string, Provider> = new Map<string, Provider>([
  ['aws', 'aws'], ['velero.io/aws', 'aws'],
  ['azure', 'azure'], ['velero.io/azure', 'azure'],
  ['gcp', 'gcp'], ['velero.io/gcp', 'gcp'],
]);

export function providerOf(name: string): Provider {
  const provider = PROVIDERS.get(name);
  if (provider) return provider;
  throw invalidLocation('UnsupportedProvider', `backup location provider ${JSON.stringify(String(name).slice(0, 100))} is not supported: `
    + 'imagestream-backup stores images with provider "aws" (AWS S3 and S3-compatible storage: MinIO, Ceph RGW, NooBaa...), '
    + '"azure" (Azure Blob Storage) or "gcp" (Google Cloud Storage), also spelled velero.io/aws, velero.io/azure, velero.io/gcp');
}
