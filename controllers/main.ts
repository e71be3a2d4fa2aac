// The controller process: reads its settings, starts each controller, serves /healthz, /readyz
// and /metrics, and stops cleanly on SIGTERM/SIGINT. An error in one reconcile never ends the
// process; the work queue retries that object and serves the others.
import { CoordinationV1Api } from '@kubernetes/client-node';
import { makeApiClient, setApiTimeout } from '../pkg/k8s/apiClient.js';
import { httpStatus } from '../pkg/k8s/errors.js';
import { Namespaces } from '../pkg/k8s/namespaces.js';
import { CoreEventSink } from '../pkg/k8s/events.js';
import { loadKubeConfig } from '../pkg/k8s/kubeconfig.js';
import { ConfigError, parseConfig, usage, type Config } from './config.js';
import type { ControllerContext, RunningController } from './context.js';
import { startImageStreamsBackupController } from './imagestreamsbackup/controller.js';
import { startImageStreamsRestoreController } from './imagestreamsrestore/controller.js';
import { internalRegistryFactory } from './internalRegistry.js';
import { EventRecorder } from './runtime/events.js';
import { LeaderElector } from './runtime/leaderElection.js';
import { createLogger, type Logger } from './runtime/logger.js';
import { controllerMetrics } from './runtime/metrics.js';
import { startProbeServers } from './runtime/server.js';
import { startVeleroBackupsController } from './veleroBackups/controller.js';
import { SharedInformers, informerFactory } from './wiring.js';

/** Each controller of the process. */
const controllers: Array<(ctx: ControllerContext) => Promise<RunningController>> = [
  startImageStreamsBackupController,
  startImageStreamsRestoreController,
  startVeleroBackupsController,
];

async function main(): Promise<void> {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    console.log(usage());
    return;
  }
  let config: Config;
  try {
    config = parseConfig({ argv: process.argv.slice(2), env: process.env });
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`imagestream-backup: ${err.message}`);
      process.exit(2);
    }
    throw err;
  }
  const log = createLogger({ level: config.logLevel, base: { component: 'imagestream-backup' } });
  keepRunningOnStrayErrors(log);
  log.info('starting', {
    namespaces: config.watchNamespaces, internalRegistry: config.internalRegistry,
    registryCaFile: config.registryCaFile ?? null, registryUser: config.registryUser,
    registryPassword: config.registryPassword ? ('file' in config.registryPassword ? `file ${config.registryPassword.file}` : 'from REGISTRY_PASSWORD') : 'none',
  });

  const kubeConfig = loadKubeConfig();
  setApiTimeout(kubeConfig, config.apiTimeoutMs);
  const metrics = controllerMetrics();
  const ctx: ControllerContext = {
    kubeConfig, config, log, metrics,
    recorder: new EventRecorder(new CoreEventSink(kubeConfig), 'imagestream-backup', log),
    registry: internalRegistryFactory(config),
    informers: new SharedInformers(informerFactory(kubeConfig, config, log)),
  };

  const running: RunningController[] = [];
  const elector = config.leaderElection.enabled ? leaderElector(ctx) : undefined;
  const probes = await startProbeServers({
    healthPort: config.healthPort, metricsPort: config.metricsPort, metrics: metrics.registry,
    // A standby is ready: it only waits to take over. The leader is ready once every informer has listed.
    ready: () => (elector !== undefined && !elector.isLeader) || (running.length === controllers.length && running.every((c) => c.synced())),
  });
  log.info('probes listening', { healthPort: probes.healthPort, metricsPort: probes.metricsPort });

  let stopping = false;
  const stopControllers = async () => {
    await Promise.allSettled(running.map((c) => c.stop()));
  };
  const stop = async (signal: string, code = 0) => {
    if (stopping) return;
    stopping = true;
    log.info('stopping', { signal });
    const hardStop = setTimeout(() => process.exit(1), 30_000);
    hardStop.unref();
    await stopControllers();
    await elector?.stop();
    await probes.close();
    log.info('stopped');
    process.exit(code);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));

  const lead = async () => {
    metrics.leader.set(1);
    const cluster = await readClusterIdentity(ctx);
    if (cluster) ctx.cluster = cluster;
    for (const start of controllers) {
      if (stopping) return;
      running.push(await start(ctx));
    }
  };
  if (!elector) {
    await lead();
    return;
  }
  elector.start({
    started: () => void lead().catch((err: unknown) => {
      log.error('could not start the controllers', { error: err });
      void stop('start failed', 1);
    }),
    // Another replica may lead now: every run stops at once, and a new process starts as a standby
    // (as controller-runtime does, the process ends and its pod restarts it).
    stopped: () => {
      metrics.leader.set(0);
      void stop('lost the leader lease', 1);
    },
  });
}

function leaderElector(ctx: ControllerContext): LeaderElector {
  const api = makeApiClient(ctx.kubeConfig, CoordinationV1Api);
  const { leaderElection: le } = ctx.config;
  return new LeaderElector({
    read: (namespace, name) => api.readNamespacedLease({ namespace, name }),
    create: (namespace, body) => api.createNamespacedLease({ namespace, body }),
    replace: (namespace, name, body) => api.replaceNamespacedLease({ namespace, name, body }),
  }, le, undefined, ctx.log.child({ component: 'leader-election' }));
}

/** kube-system's uid; without the RBAC to read it, the bundles are written without it (and never found orphaned). */
async function readClusterIdentity(ctx: ControllerContext): Promise<string | undefined> {
  try {
    const id = await new Namespaces(ctx.kubeConfig).clusterIdentity();
    ctx.log.info('cluster identity', { cluster: id ?? null });
    return id;
  } catch (err) {
    if (httpStatus(err) !== 403) throw err;
    ctx.log.warn('reading namespace kube-system is forbidden (RBAC): bundles are written without this cluster\'s identity, so the collector never finds them orphaned');
    return undefined;
  }
}

// A library promise nobody awaited must not take every backup down with it.
function keepRunningOnStrayErrors(log: Logger): void {
  process.on('unhandledRejection', (reason) => log.error('unhandled promise rejection', { error: reason }));
  process.on('uncaughtException', (err) => log.error('uncaught exception', { error: err, stack: err.stack }));
}

main().catch((err: unknown) => {
  console.error(`imagestream-backup: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
