// Velero's plugin ConfigMap: in Velero's namespace, labelled `velero.io/plugin-config` and
// `<plugin name>: <plugin kind>`, as Velero's own plugins are configured. This plugin reads one
// key, `internalRegistry` (host[:port]), which replaces the host taken from each ImageStream's
// status.dockerImageRepository (for a registry reached under another name, or a stream whose
// status lacks it).
import type { ConfigMap } from './resources.js';

export const PLUGIN_NAME = 'oadp.openshift.io/imagestream-backup';
export const PLUGIN_KIND = 'BackupItemActionV2';
export const INTERNAL_REGISTRY_KEY = 'internalRegistry';

export interface PluginConfig {
  internalRegistry?: string;
}

export const PLUGIN_CONFIG_SELECTOR = `velero.io/plugin-config,${PLUGIN_NAME}=${PLUGIN_KIND}`;

export async function readPluginConfig(
  list: (namespace: string, labelSelector: string) => Promise<ConfigMap[]>, namespace: string,
): Promise<PluginConfig> {
  const items = await list(namespace, PLUGIN_CONFIG_SELECTOR);
  if (items.length > 1) {
    const names = items.map((c) => c.metadata?.name).join(', ');
    throw new Error(`more than one ConfigMap in ${namespace} matches ${PLUGIN_CONFIG_SELECTOR} (${names}): keep one`);
  }
  const value = items[0]?.data?.[INTERNAL_REGISTRY_KEY]?.trim();
  return value ? { internalRegistry: value } : {};
}
