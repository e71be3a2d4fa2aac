// An event recorder: core/v1 Events about an object, deduplicated as client-go does: the same
// event (object, type, reason, message) again bumps the count of the first one instead of
// creating another. Events are best effort: a failure is logged, never thrown.
import type { CoreV1Event, KubernetesObject } from '@kubernetes/client-node';
import { randomBytes } from 'node:crypto';
import type { EventSink } from '../../pkg/k8s/events.js';
import { isNotFound } from '../../pkg/k8s/errors.js';
import { truncate } from './conditions.js';
import { silentLogger, type Logger } from './logger.js';

export type EventType = 'Normal' | 'Warning';

interface Sent {
  name: string;
  namespace: string;
  count: number;
}

export class EventRecorder {
  private readonly sent = new Map<string, Sent>();

  constructor(
    private readonly sink: EventSink,
    private readonly component: string,
    private readonly log: Logger = silentLogger,
    private readonly maxRemembered = 4096,
  ) {}

  async record(obj: KubernetesObject, type: EventType, reason: string, message: string): Promise<void> {
    const meta = obj.metadata ?? {};
    const namespace = meta.namespace ?? 'default';
    const text = truncate(message);
    const key = [meta.uid, type, reason, text].join('\u0000');
    const now = new Date();
    try {
      const known = this.sent.get(key);
      if (known) {
        known.count++;
        try {
          await this.sink.bump(known.namespace, known.name, known.count, now);
          this.touch(key, known);
          return;
        } catch (err) {
          // Events expire (1h by default): start a new one.
          if (!isNotFound(err)) throw err;
          this.sent.delete(key);
        }
      }
      const name = `${meta.name ?? 'object'}.${now.getTime().toString(16)}${randomBytes(2).toString('hex')}`;
      const event: CoreV1Event = {
        metadata: { name, namespace },
        involvedObject: {
          apiVersion: obj.apiVersion,
          kind: obj.kind,
          name: meta.name,
          namespace: meta.namespace,
          uid: meta.uid,
          resourceVersion: meta.resourceVersion,
        },
        type,
        reason,
        message: text,
        count: 1,
        firstTimestamp: now,
        lastTimestamp: now,
        source: { component: this.component },
        reportingComponent: this.component,
        reportingInstance: process.env.HOSTNAME ?? this.component,
      };
      await this.sink.create(namespace, event);
      this.touch(key, { name, namespace, count: 1 });
    } catch (err) {
      this.log.warn('could not record event', { reason, object: `${namespace}/${meta.name}`, error: err });
    }
  }

  /** Keeps the most recent events first in line for eviction last (a Map iterates in insertion order). */
  private touch(key: string, sent: Sent): void {
    this.sent.delete(key);
    this.sent.set(key, sent);
    while (this.sent.size > this.maxRemembered) this.sent.delete(this.sent.keys().next().value!);
  }
}
