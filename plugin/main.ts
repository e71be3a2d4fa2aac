// The Velero plugin executable: velero-plugin-for-imagestreams. Velero starts it (once to list
// its plugins, then once per backup and per operation poll), passes it its own server flags,
// which are all ignored, and talks to it over go-plugin's gRPC protocol. The API server is
// reached as Velero's own pod does: in-cluster, or through $KUBECONFIG, which Velero's
// environment passes down.
import path from 'node:path';
import { backupItemActionService, ImageStreamBackupAction } from './backupItemAction.js';
import { checkMagicCookie, serveGoPlugin } from './goPluginServer.js';
import { KubeClient, loadConnection } from './kubeClient.js';
import { hclogLogger } from './log.js';
import { PLUGIN_KIND, PLUGIN_NAME, readPluginConfig, type PluginConfig } from './pluginConfig.js';
import { loadProtocol } from './protocol.js';
import { isbApi, listConfigMaps, type IsbApi } from './resources.js';

/** The compiled plugin/proto files (base64 FileDescriptorSet), put in by the build (plugin/build.ts). */
declare const __PLUGIN_DESCRIPTOR_SET__: string | undefined;

async function main(): Promise<void> {
  const refusal = checkMagicCookie(process.env);
  if (refusal) {
    process.stderr.write(refusal);
    process.exit(1);
  }
  if (typeof __PLUGIN_DESCRIPTOR_SET__ !== 'string') throw new Error('built without its protocol descriptors: run npm run build:plugin');
  const protocol = loadProtocol(Buffer.from(__PLUGIN_DESCRIPTOR_SET__, 'base64'));
  const log = hclogLogger();

  // Read once the first call needs it: a kubeconfig problem then fails that call, with its reason
  // in the Velero backup, instead of Velero's plugin discovery (which would stop Velero's server).
  let client: KubeClient | undefined;
  let isbs: IsbApi | undefined;
  const kube = () => (client ??= new KubeClient(loadConnection()));
  // Read once per process: Velero runs every Execute of a backup in one process, so one backup
  // sees one configuration (a failed read is tried again by the next call).
  const configs = new Map<string, Promise<PluginConfig>>();
  const readConfig = (ns: string) => {
    let config = configs.get(ns);
    if (!config) {
      config = readPluginConfig((n, selector) => listConfigMaps(kube(), n, selector), ns);
      config.catch(() => configs.delete(ns));
      configs.set(ns, config);
    }
    return config;
  };
  const action = new ImageStreamBackupAction({ kube: () => (isbs ??= isbApi(kube())), readConfig, log });

  await serveGoPlugin({
    protocol,
    log,
    services: [
      [protocol.pluginLister, {
        // Velero runs each plugin by the command it reports: the path Velero started this one by.
        ListPlugins: (_call: unknown, done: (err: null, res: unknown) => void) =>
          done(null, { plugins: [{ command: path.isAbsolute(process.argv0) ? process.argv0 : process.execPath, kind: PLUGIN_KIND, name: PLUGIN_NAME }] }),
      }],
      [protocol.backupItemAction, backupItemActionService(action, log)],
    ],
  });
}

main().catch((err: unknown) => {
  process.stderr.write(JSON.stringify({ '@level': 'error', '@message': `plugin failed to start: ${err instanceof Error ? err.message : String(err)}` }) + '\n');
  process.exit(1);
});
