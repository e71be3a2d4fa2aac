// Opens the Azure Blob store of a BSL of provider azure: settings from the spec (location.ts),
// credentials from the Secret's AZURE_* file (credentials.ts), trust from caCert. The SDK's own
// retries are off: every request goes through the one retry policy (../requests.ts).
import { BlobServiceClient, StorageSharedKeyCredential, newPipeline, type StoragePipelineOptions } from '@azure/storage-blob';
import type { ObjectStore } from '../objectStore.js';
import type { OpenStoreOptions } from '../openStore.js';
import { storeAgents } from '../tls.js';
import { DEFAULT_RETRY_POLICY } from '../../retry.js';
import { AzureObjectStore } from './azureObjectStore.js';
import { azureCredentials, parseDotenv, type AzureCredentials } from './credentials.js';
import { azureSettings } from './location.js';
import { useTransport, type AgentFor } from './transport.js';

type Credential = NonNullable<Parameters<typeof newPipeline>[0]>;

export async function openAzureStore(opts: OpenStoreOptions): Promise<ObjectStore> {
  const file = opts.credentials !== undefined ? parseDotenv(opts.credentials) : undefined;
  const settings = azureSettings(opts.location, opts.log, file?.get('AZURE_CLOUD_NAME') ?? '');
  const creds = azureCredentials(file, settings, opts.trusted === true);
  const env = opts.env ?? process.env;
  const agents = storeAgents({ ...(settings.caCert && { caCert: settings.caCert }), insecureSkipTLSVerify: false, maxSockets: opts.maxSockets ?? 64 }, env);
  const agentFor: AgentFor = (url) => agents.forUrl(url);
  const retry = opts.retry ?? DEFAULT_RETRY_POLICY;
  const idleTimeoutMs = opts.idleTimeoutMs ?? 60_000;

  const credential = await credentialFor(creds, settings.account, settings.authorityHost, agentFor);
  const options: StoragePipelineOptions = { retryOptions: { maxTries: 1 }, keepAliveOptions: { enable: true } };
  const pipeline = newPipeline(credential, options);
  const service = new BlobServiceClient(settings.serviceUrl, pipeline);
  useTransport(pipeline, agentFor, idleTimeoutMs);
  return new AzureObjectStore(service, {
    container: settings.container, root: settings.root, account: settings.account, endpoint: settings.serviceUrl,
    ...(settings.maxBlockSize !== undefined && { maxBlockSize: settings.maxBlockSize }),
    retry, idleTimeoutMs,
  }, async () => {
    agents.destroy();
  });
}

/** @azure/identity is loaded only for Entra ID credentials: a storage account key needs none of it. */
async function credentialFor(creds: AzureCredentials, account: string, authorityHost: string, agentFor: AgentFor): Promise<Credential> {
  if (creds.kind === 'sharedKey') return new StorageSharedKeyCredential(account, creds.accountKey);
  const identity = await import('@azure/identity');
  // Token requests to Entra ID go through the same agents (proxy, CA) as the storage requests.
  const transport: NonNullable<import('@azure/identity').TokenCredentialOptions['additionalPolicies']>[number] = {
    position: 'perCall',
    policy: {
      name: 'imagestreamBackupTransport',
      sendRequest(request, next) {
        request.agent = agentFor(new URL(request.url)) as typeof request.agent;
        return next(request);
      },
    },
  };
  const clientOptions = { authorityHost, additionalPolicies: [transport] };
  if (creds.kind === 'servicePrincipal') {
    return new identity.ClientSecretCredential(creds.tenantId, creds.clientId, creds.clientSecret, clientOptions);
  }
  // The pod's own identity, which only trusted objects that asked for it (config.useAAD) reach:
  // workload identity where the pod has a federated token (AKS, ARO with workload identity), else managed identity.
  if (process.env.AZURE_FEDERATED_TOKEN_FILE) {
    return new identity.WorkloadIdentityCredential({
      ...clientOptions, ...(creds.clientId && { clientId: creds.clientId }), ...(creds.tenantId && { tenantId: creds.tenantId }),
    });
  }
  return creds.clientId ? new identity.ManagedIdentityCredential({ ...clientOptions, clientId: creds.clientId }) : new identity.ManagedIdentityCredential(clientOptions);
}
