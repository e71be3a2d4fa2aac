export { RegistryClient, createRegistryClient, MANIFEST_LIMIT } from './client.js';
export type { RegistryClientOptions, GetBlobOptions } from './client.js';
export { parseChallenges } from './auth.js';
