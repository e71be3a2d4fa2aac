// What every controller of the process is given, and what it hands back to main.ts.
import type { KubeConfig } from '@kubernetes/client-node';
import type { Config } from './config.js';
import type { RegistryFactory } from './internalRegistry.js';
import type { EventRecorder } from './runtime/events.js';
import type { Logger } from './runtime/logger.js';
import type { ControllerMetrics } from './runtime/metrics.js';
import type { SharedInformers } from './wiring.js';

export interface ControllerContext {
  kubeConfig: KubeConfig;
  config: Config;
  log: Logger;
  metrics: ControllerMetrics;
  recorder: EventRecorder;
  registry: RegistryFactory;
  /** The process's informers, one per kind and namespace, shared by the controllers. */
  informers: SharedInformers;
  /** This cluster's identity (kube-system's uid); absent when it cannot be read. */
  cluster?: string;
}

export interface RunningController {
  name: string;
  /** True once every informer of the controller has listed (readiness). */
  synced(): boolean;
  /** Stops watching, waits for running reconciles, aborts the runs (they resume on the next start). */
  stop(): Promise<void>;
}
