// Long work (a backup or a restore copies gigabytes for minutes) runs here, beside the work
// queue, so a worker is never held by one object and the controller keeps serving the others.
// The reconcile starts a run, later sees it finished and commits its result; at most
// `concurrency` runs copy at once, the others wait their turn. A run is identified by the
// object's uid and the generation it was started for.

import { setMaxListeners } from 'node:events';

export type RunState = 'queued' | 'running' | 'finished';
export type RunResult<R> = { ok: true; value: R } | { ok: false; error: unknown };

export interface Run<R> {
  readonly key: string;
  readonly uid: string;
  readonly generation: number;
  state: RunState;
  startedAt?: Date;
  result?: RunResult<R>;
  readonly signal: AbortSignal;
  /** Settles when the run has finished (never rejects). */
  readonly done: Promise<void>;
}

export interface RunsOptions {
  concurrency: number;
  /** Called when a run starts copying and when it finishes, so the owner can reconcile the key. */
  onChange: (key: string) => void;
  /** Called when the numbers of running and queued runs change, for metrics. */
  onCounts?: (running: number, queued: number) => void;
}

export class Runs<R> {
  private readonly runs = new Map<string, Run<R> & { controller: AbortController }>();
  /** Aborted runs that have not ended yet: what they write may still land. */
  private readonly ending = new Map<string, Promise<void>>();
  private readonly waiting: Array<() => void> = [];
  private running = 0;

  constructor(private readonly opts: RunsOptions) {}

  get(key: string): Run<R> | undefined {
    return this.runs.get(key);
  }

  get active(): number {
    return this.running;
  }

  start(key: string, uid: string, generation: number, work: (signal: AbortSignal) => Promise<R>): Run<R> {
    if (this.runs.has(key)) throw new Error(`a run for ${key} exists already`);
    const controller = new AbortController();
    // Every request in flight listens to this signal: dozens at once are the normal case, not a leak.
    setMaxListeners(1000, controller.signal);
    let resolveDone!: () => void;
    const run: Run<R> & { controller: AbortController } = {
      key, uid, generation, state: 'queued', signal: controller.signal, controller,
      done: new Promise<void>((r) => (resolveDone = r)),
    };
    this.runs.set(key, run);
    void (async () => {
      try {
        await this.acquire(run.signal);
        try {
          run.state = 'running';
          run.startedAt = new Date();
          this.opts.onChange(key);
          run.result = { ok: true, value: await work(run.signal) };
        } finally {
          this.release();
        }
      } catch (error) {
        run.result = { ok: false, error };
      }
      run.state = 'finished';
      resolveDone();
      // An aborted run is not reported: whoever aborted it has dropped it already.
      if (this.runs.get(key) === run) this.opts.onChange(key);
    })();
    return run;
  }

  /** Removes a finished run, handing its result over. */
  take(key: string): Run<R> | undefined {
    const run = this.runs.get(key);
    if (run?.state !== 'finished') return undefined;
    this.runs.delete(key);
    return run;
  }

  /**
   * The run of `key` for its object as it is now. A run whose object is gone, is being deleted
   * (a finalizer holds it) or was replaced (another uid) is aborted and not returned; `gone`
   * says that nothing more is to be done for the object.
   */
  current(key: string, obj: { metadata?: { uid?: string; deletionTimestamp?: unknown } } | undefined, kind: string): { gone: boolean; run?: Run<R> } {
    const run = this.runs.get(key);
    const ended = obj === undefined ? 'was deleted' : obj.metadata?.deletionTimestamp ? 'is being deleted' : undefined;
    const stop = ended ?? (run && run.uid !== obj?.metadata?.uid ? 'was replaced' : undefined);
    if (stop && run) this.abort(key, `the ${kind} ${stop}`);
    return { gone: ended !== undefined, ...(!stop && run && { run }) };
  }

  /** Stops a run (its object was deleted or replaced) and forgets it. */
  abort(key: string, reason = 'the object was deleted'): void {
    const run = this.runs.get(key);
    if (!run) return;
    this.runs.delete(key);
    const ended: Promise<void> = run.done.then(() => {
      if (this.ending.get(key) === ended) this.ending.delete(key);
    });
    this.ending.set(key, ended);
    run.controller.abort(new DOMException(reason, 'AbortError'));
  }

  /** Aborts the run of `key`, if any, and waits until no run of it can write anything more (the deletion of its data comes after). */
  async stop(key: string, reason: string): Promise<void> {
    this.abort(key, reason);
    await this.ending.get(key);
  }

  /** Aborts every run and waits for them to stop. */
  async shutdown(): Promise<void> {
    const all = [...this.runs.values()];
    this.runs.clear();
    for (const r of all) r.controller.abort(new DOMException('the controller is stopping', 'AbortError'));
    await Promise.all(all.map((r) => r.done));
  }

  private async acquire(signal: AbortSignal): Promise<void> {
    if (this.running < this.opts.concurrency) {
      this.running++;
      this.counted();
      return;
    }
    await new Promise<void>((resolve, reject) => {
      const grant = () => {
        signal.removeEventListener('abort', onAbort);
        this.running++;
        resolve();
      };
      const onAbort = () => {
        const i = this.waiting.indexOf(grant);
        if (i >= 0) this.waiting.splice(i, 1);
        this.counted();
        reject(signal.reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(grant);
      this.counted();
    });
  }

  private release(): void {
    this.running--;
    this.waiting.shift()?.();
    this.counted();
  }

  private counted(): void {
    this.opts.onCounts?.(this.running, this.waiting.length);
  }
}
