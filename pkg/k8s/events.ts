// core/v1 Events: create, and bump the count of an event already sent.
import { CoreV1Api, PatchStrategy, setHeaderOptions, type CoreV1Event, type KubeConfig } from '@kubernetes/client-node';
import { makeApiClient } from './apiClient.js';

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

export interface EventSink {
  create(namespace: string, event: CoreV1Event): Promise<void>;
  /** Updates count and lastTimestamp of an existing event. */
  bump(namespace: string, name: string, count: number, lastTimestamp: Date): Promise<void>;
}

export class CoreEventSink implements EventSink {
  private readonly api: CoreV1Api;

  constructor(kc: KubeConfig) {
    this.api = makeApiClient(kc, CoreV1Api);
  }

  async create(namespace: string, event: CoreV1Event): Promise<void> {
    await this.api.createNamespacedEvent({ namespace, body: event });
  }

  async bump(namespace: string, name: string, count: number, lastTimestamp: Date): Promise<void> {
    await this.api.patchNamespacedEvent({ namespace, name, body: { count, lastTimestamp: lastTimestamp.toISOString() } }, mergePatch);
  }
}
