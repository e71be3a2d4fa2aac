// Builds the object store of a BSL, by its provider as Velero spells it: S3 (s3/), Azure Blob
// (azure/) or Google Cloud Storage (gcs/). Each reads its Velero plugin's config keys and
// credential file format, and trusts caCert.
import type { LocationSpec } from '../contracts.js';
import type { Log } from './location.js';
import type { ObjectStore } from './objectStore.js';
import { providerOf } from './provider.js';
import type { RetryPolicy } from '../retry.js';

export interface OpenStoreOptions {
  location: LocationSpec;
  /**
   * Content of the credential Secret's key: an AWS shared-credentials file, the AZURE_* file
   * of velero-plugin-for-microsoft-azure, or a GCP service account key (JSON). Absent: the
   * controller's own identity, for trusted objects only.
   */
  credentials?: string;
  /**
   * The location belongs to an object in an admin namespace: its credentials may use the
   * controller's own identity (AWS web identity or the SDK's default chain; Azure managed or
   * workload identity; GCP workload identity) and its customerKeyEncryptionFile may be read.
   * Default: false.
   */
  trusted?: boolean;
  /** Token files web identity may use (WEB_IDENTITY_TOKEN_FILES). */
  allowedTokenFiles?: readonly string[];
  log?: Log;
  /** Where AWS_CA_BUNDLE and the proxy settings are read from; process.env by default. */
  env?: Record<string, string | undefined>;
  /** Sockets to the endpoint; uploads hold one per part in flight. */
  maxSockets?: number;
  /** The one retry policy (pkg/retry.ts), applied to every request that can be sent again. */
  retry?: RetryPolicy;
  /** A connection that sends or receives nothing for this long fails (a stalled body too). */
  idleTimeoutMs?: number;
}

// Each provider's module (and its SDK) is loaded the first time a location of that provider is
// opened: the Azure SDK alone is some 20 MiB of resident memory a controller that only writes
// to S3 would carry for nothing (issue 17: peak RSS).
export async function openStore(opts: OpenStoreOptions): Promise<ObjectStore> {
  switch (providerOf(opts.location.provider)) {
    case 'aws': return (await import('./s3/openS3Store.js')).openS3Store(opts);
    case 'azure': return (await import('./azure/openAzureStore.js')).openAzureStore(opts);
    case 'gcp': return (await import('./gcs/openGcsStore.js')).openGcsStore(opts);
  }
}
