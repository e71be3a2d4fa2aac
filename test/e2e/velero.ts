// The Velero CLI and server for the end-to-end tests: `velero ...` against a cluster's
// kubeconfig and namespace velero, and a second `velero server` for a second cluster, run as
// hack/stack.sh runs the stack's own (out of cluster, with the same plugin folder).
import { execFile, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { AppsV1Api } from '@kubernetes/client-node';
import type { StackEnv } from '../stackEnv.js';
import type { TestCluster } from './cluster.js';
import { freePort } from '../fixture/wait.js';

const run = promisify(execFile);
export interface VeleroCli {
  (...args: string[]): Promise<string>;
}

/** `velero <args> --kubeconfig <kubeconfig> -n $VELERO_NAMESPACE`; resolves with stdout, rejects with stderr in the message. */
export function veleroCli(env: StackEnv, kubeconfig = env.KUBECONFIG): VeleroCli {
  return async (...args) => {
    try {
      const { stdout } = await run(path.join(env.STACK_BIN, 'velero'), [...args, '--kubeconfig', kubeconfig, '-n', env.VELERO_NAMESPACE],
        { maxBuffer: 64 * 1024 * 1024, timeout: 600_000 });
      return stdout;
    } catch (err) {
      const e = err as { stderr?: string; stdout?: string; message: string };
      throw new Error(`velero ${args.join(' ')}: ${e.message}\n${e.stdout ?? ''}${e.stderr ?? ''}`);
    }
  };
}


/**
 * What hack/stack.sh gives its own Velero, on another cluster: Velero's namespace with the
 * credentials Secret, the BSL `default` on the stack's bucket (prefix velero), and the stand-in
 * `velero` Deployment that Velero's restore reads.
 */
export async function prepareVeleroNamespace(cluster: TestCluster, env: StackEnv): Promise<void> {
  const namespace = env.VELERO_NAMESPACE;
  await cluster.createNamespace(namespace);
  await cluster.createCredentials(namespace);
  await cluster.createLocation(namespace, 'default', 'velero', { default: true });
  const labels = { component: 'velero' };
  await cluster.kc.makeApiClient(AppsV1Api).createNamespacedDeployment({ namespace, body: {
    metadata: { name: 'velero' },
    spec: { replicas: 0, selector: { matchLabels: labels }, template: { metadata: { labels }, spec: { containers: [{ name: 'velero', image: 'velero/velero' }] } } },
  } });
}

export interface VeleroServer {
  log(): Promise<string>;
  stop(): Promise<void>;
}

/**
 * A `velero server` for another cluster, with the stack's plugin folder. Its backup sync and
 * location validation run every 2 s (defaults: 1 min), so a backup of the shared bucket appears
 * quickly.
 */
export async function startVeleroServer(env: StackEnv, kubeconfig: string, logFile: string): Promise<VeleroServer> {
  const pluginDir = path.join(path.dirname(env.KUBECONFIG), 'velero-plugins');
  const out = createWriteStream(logFile);
  const child = spawn(path.join(env.STACK_BIN, 'velero'), [
    'server', '--kubeconfig', kubeconfig, '--namespace', env.VELERO_NAMESPACE, '--plugin-dir', pluginDir,
    '--metrics-address', `127.0.0.1:${await freePort()}`, '--profiler-address', `127.0.0.1:${await freePort()}`,
    '--backup-sync-period', '2s', '--store-validation-frequency', '2s', '--item-operation-sync-frequency', '2s', '--log-format', 'json',
  ], { env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', KUBECONFIG: kubeconfig }, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.pipe(out);
  child.stderr!.pipe(out);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    log: () => readFile(logFile, 'utf8'),
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
