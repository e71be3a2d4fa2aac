import { ListWatch, type KubernetesListObject, type KubernetesObject, type Watch } from '@kubernetes/client-node';
import { ResilientInformer, type InformerEvent } from './informer.js';

/** A Watch whose connections the test drives: push events, or end a connection with an error. */
class FakeWatch {
  connections: Array<{ cb: (phase: string, obj: unknown) => void; done: (err: unknown) => void; aborted: boolean }> = [];
  async watch(_path: string, _q: unknown, cb: (phase: string, obj: unknown) => void, done: (err: unknown) => void) {
    const conn = { cb, done, aborted: false };
    this.connections.push(conn);
    const ctl = new AbortController();
    ctl.signal.addEventListener('abort', () => { conn.aborted = true; });
    return ctl;
  }
  get last() { return this.connections[this.connections.length - 1]!; }
}

const obj = (name: string, rv = '1'): KubernetesObject => ({ metadata: { name, namespace: 'ns', resourceVersion: rv } });

function setup(lists: Array<KubernetesObject[] | Error>) {
  const watch = new FakeWatch();
  const events: Array<[InformerEvent, string]> = [];
  let calls = 0;
  const list = async (): Promise<KubernetesListObject<KubernetesObject>> => {
    const next = lists[Math.min(calls++, lists.length - 1)]!;
    if (next instanceof Error) throw next;
    return { apiVersion: 'v1', kind: 'List', items: next, metadata: { resourceVersion: String(calls) } };
  };
  const inf = new ResilientInformer<KubernetesObject>({
    name: 'test', path: '/api/v1/namespaces/ns/things', list,
    factory: (path, l) => new ListWatch(path, watch as unknown as Watch, l, false),
    backoff: { baseMs: 5, maxMs: 20 },
    relistIntervalMs: 60_000,
  });
  inf.on((e, o) => events.push([e, o.metadata!.name!]));
  return { inf, watch, events, listCalls: () => calls };
}

async function until(cond: () => boolean, what: string, ms = 2_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

describe('ResilientInformer', () => {
  it('lists, reports each object, then follows the watch', async () => {
    const { inf, watch, events } = setup([[obj('a'), obj('b')]]);
    await inf.start();
    expect(inf.synced).toBe(true);
    watch.last.cb('MODIFIED', obj('a', '2'));
    watch.last.cb('DELETED', obj('b', '3'));
    expect(events).toEqual([['add', 'a'], ['add', 'b'], ['update', 'a'], ['delete', 'b']]);
    expect(inf.list().map((o) => o.metadata!.name)).toEqual(['a']);
    await inf.stop();
  });

  it('is started once when several controllers share it: one list, one watch, every handler told', async () => {
    const { inf, watch, events, listCalls } = setup([[obj('a')]]);
    const second: string[] = [];
    inf.on((e, o) => second.push(`${e} ${o.metadata!.name}`));
    await Promise.all([inf.start(), inf.start()]);
    await inf.start();
    expect(listCalls()).toBe(1);
    expect(watch.connections).toHaveLength(1);
    watch.last.cb('DELETED', obj('a', '2'));
    expect(events).toEqual([['add', 'a'], ['delete', 'a']]);
    expect(second).toEqual(['add a', 'delete a']);
    await inf.stop();
  });

  it('relists after a watch error and reports objects deleted while nobody watched', async () => {
    const { inf, watch, events, listCalls } = setup([[obj('a'), obj('b')], [obj('a', '5')]]);
    await inf.start();
    const first = watch.last;
    first.done(new Error('connection reset'));
    await until(() => listCalls() === 2 && inf.relists === 2, 'the relist');
    expect(events.slice(2)).toEqual([['update', 'a'], ['delete', 'b']]);
    expect(inf.get('b', 'ns')).toBeUndefined();
    expect(watch.connections).toHaveLength(2);
    await inf.stop();
  });

  it('retries a failing list with backoff, serving nothing until one succeeds', async () => {
    const { inf, events, listCalls } = setup([new Error('503'), new Error('503'), [obj('a')]]);
    await inf.start();
    expect(inf.synced).toBe(false);
    await inf.waitForSync();
    expect(listCalls()).toBe(3);
    expect(events).toEqual([['add', 'a']]);
    await inf.stop();
  });

  it('ignores the replaced informer once the new one serves', async () => {
    const { inf, watch, events } = setup([[obj('a')], [obj('a', '2')]]);
    await inf.start();
    const old = watch.last;
    old.done(new Error('boom'));
    await until(() => inf.relists === 2, 'the relist');
    const before = events.length;
    old.cb('ADDED', obj('ghost', '9'));
    expect(events.length).toBe(before);
    expect(inf.get('ghost', 'ns')).toBeUndefined();
    await inf.stop();
    expect(watch.last.aborted).toBe(true);
  });
});
