import type { CoreV1Event } from '@kubernetes/client-node';
import type { EventSink } from '../../pkg/k8s/events.js';
import { EventRecorder } from './events.js';

class MemorySink implements EventSink {
  events = new Map<string, CoreV1Event>();
  failCreate = false;
  async create(namespace: string, event: CoreV1Event): Promise<void> {
    if (this.failCreate) throw new Error('api down');
    this.events.set(`${namespace}/${event.metadata!.name}`, event);
  }
  async bump(namespace: string, name: string, count: number): Promise<void> {
    const e = this.events.get(`${namespace}/${name}`);
    if (!e) throw Object.assign(new Error('not found'), { code: 404 });
    e.count = count;
  }
}

const isb = (uid: string) => ({
  apiVersion: 'oadp.openshift.io/v1alpha1', kind: 'ImageStreamsBackup', metadata: { name: 'b', namespace: 'ns', uid },
});

describe('EventRecorder', () => {
  it.each([
    { name: 'counts a repeated event on the first one', calls: [['u1', 'Started', 'm'], ['u1', 'Started', 'm']], events: 1, counts: [2] },
    { name: 'keeps events with other messages apart', calls: [['u1', 'Failed', 'a'], ['u1', 'Failed', 'b']], events: 2, counts: [1, 1] },
    { name: 'keeps events of other objects apart', calls: [['u1', 'Started', 'm'], ['u2', 'Started', 'm']], events: 2, counts: [1, 1] },
  ])('$name', async ({ calls, events, counts }) => {
    const sink = new MemorySink();
    const rec = new EventRecorder(sink, 'test');
    for (const [uid, reason, message] of calls) await rec.record(isb(uid!), 'Normal', reason!, message!);
    expect(sink.events.size).toBe(events);
    expect([...sink.events.values()].map((e) => e.count)).toEqual(counts);
    const first = [...sink.events.values()][0]!;
    expect(first.involvedObject).toMatchObject({ kind: 'ImageStreamsBackup', name: 'b', namespace: 'ns', uid: 'u1' });
  });

  it('creates a new event when the counted one has expired', async () => {
    const sink = new MemorySink();
    const rec = new EventRecorder(sink, 'test');
    await rec.record(isb('u1'), 'Warning', 'Failed', 'm');
    sink.events.clear();
    await rec.record(isb('u1'), 'Warning', 'Failed', 'm');
    expect([...sink.events.values()].map((e) => e.count)).toEqual([1]);
  });

  it('never throws when the API refuses the event', async () => {
    const sink = new MemorySink();
    sink.failCreate = true;
    await expect(new EventRecorder(sink, 'test').record(isb('u1'), 'Normal', 'Started', 'm')).resolves.toBeUndefined();
  });
});
