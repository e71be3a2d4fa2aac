export * from './kubeconfig.js';
export * from './errors.js';
export * from './customResources.js';
export * from './secrets.js';
export * from './events.js';
export * from './velero.js';
export * from './apiClient.js';
export * from './namespaces.js';
