import type { V1Lease } from '@kubernetes/client-node';
import { LeaderElector, type LeaseClient } from './leaderElection.js';

// A Lease store with resourceVersion checks, as the API server keeps one.
class FakeLeases implements LeaseClient {
  lease?: V1Lease;
  private rv = 0;
  down = false;

  async read(): Promise<V1Lease> {
    if (this.down) throw Object.assign(new Error('unavailable'), { code: 503 });
    if (!this.lease) throw Object.assign(new Error('not found'), { code: 404 });
    return structuredClone(this.lease);
  }

  async create(_ns: string, lease: V1Lease): Promise<V1Lease> {
    if (this.lease) throw Object.assign(new Error('exists'), { code: 409 });
    this.lease = { ...lease, metadata: { ...lease.metadata, resourceVersion: String(++this.rv) } };
    return this.lease;
  }

  async replace(_ns: string, _name: string, lease: V1Lease): Promise<V1Lease> {
    if (this.down) throw Object.assign(new Error('unavailable'), { code: 503 });
    if (lease.metadata?.resourceVersion !== this.lease?.metadata?.resourceVersion) throw Object.assign(new Error('conflict'), { code: 409 });
    this.lease = { ...lease, metadata: { ...lease.metadata, resourceVersion: String(++this.rv) } };
    return this.lease;
  }
}

const cfg = { namespace: 'ns', name: 'lease', leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 };

describe('LeaderElector.tryAcquireOrRenew', () => {
  let t = 0;
  const clock = () => t;
  beforeEach(() => { t = 1_000_000; });

  it('creates the Lease when there is none, and renews its own', async () => {
    const leases = new FakeLeases();
    const a = new LeaderElector(leases, cfg, 'a', undefined, clock);
    expect(await a.tryAcquireOrRenew()).toBe(true);
    expect(leases.lease?.spec?.holderIdentity).toBe('a');
    t += 2_000;
    expect(await a.tryAcquireOrRenew()).toBe(true);
    expect(new Date(leases.lease!.spec!.renewTime!).getTime()).toBe(t);
    expect(leases.lease?.spec?.leaseTransitions).toBe(0);
  });

  it.each([
    { name: 'is refused while the holder renews within the lease duration', after: 14_999, taken: false },
    { name: 'takes the Lease once the holder has not renewed for the lease duration', after: 15_000, taken: true },
  ])('a standby $name', async ({ after, taken }) => {
    const leases = new FakeLeases();
    const a = new LeaderElector(leases, cfg, 'a', undefined, clock);
    const b = new LeaderElector(leases, cfg, 'b', undefined, clock);
    await a.tryAcquireOrRenew();
    expect(await b.tryAcquireOrRenew()).toBe(false); // b sees the record for the first time now
    t += after;
    expect(await b.tryAcquireOrRenew()).toBe(taken);
    expect(leases.lease?.spec?.holderIdentity).toBe(taken ? 'b' : 'a');
    if (taken) expect(leases.lease?.spec?.leaseTransitions).toBe(1);
  });

  it('judges expiry by its own clock from when it saw the record change, not by the holder\'s renewTime', async () => {
    const leases = new FakeLeases();
    const a = new LeaderElector(leases, cfg, 'a', undefined, clock);
    await a.tryAcquireOrRenew();
    // The holder's clock is an hour behind: its renewTime looks long expired.
    leases.lease!.spec!.renewTime = new Date(t - 3_600_000) as never;
    const b = new LeaderElector(leases, cfg, 'b', undefined, clock);
    expect(await b.tryAcquireOrRenew()).toBe(false);
  });

  it('loses a race for the Lease on the resourceVersion, not by overwriting', async () => {
    const leases = new FakeLeases();
    const a = new LeaderElector(leases, cfg, 'a', undefined, clock);
    const b = new LeaderElector(leases, cfg, 'b', undefined, clock);
    await Promise.all([a.tryAcquireOrRenew(), b.tryAcquireOrRenew()]).then((r) => expect(r.filter(Boolean)).toHaveLength(1));
  });
});

describe('LeaderElector.start', () => {
  it('leads, then stops leading when it cannot renew within the renew deadline', async () => {
    const leases = new FakeLeases();
    const a = new LeaderElector(leases, { ...cfg, leaseDurationMs: 300, renewDeadlineMs: 200, retryPeriodMs: 20 }, 'a');
    const events: string[] = [];
    const stopped = new Promise<void>((resolve) => a.start({ started: () => events.push('started'), stopped: () => { events.push('stopped'); resolve(); } }));
    await waitFor(() => a.isLeader);
    leases.down = true;
    await stopped;
    expect(events).toEqual(['started', 'stopped']);
    expect(a.isLeader).toBe(false);
    await a.stop();
  });

  it('releases the Lease on stop, so a standby takes it at once', async () => {
    const leases = new FakeLeases();
    const a = new LeaderElector(leases, { ...cfg, retryPeriodMs: 20, renewDeadlineMs: 100, leaseDurationMs: 60_000 }, 'a');
    a.start({ started: () => {}, stopped: () => {} });
    await waitFor(() => a.isLeader);
    await a.stop();
    expect(leases.lease?.spec?.holderIdentity).toBe('');
    const b = new LeaderElector(leases, cfg, 'b');
    expect(await b.tryAcquireOrRenew()).toBe(true);
  });
});

async function waitFor(cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise((r) => setTimeout(r, 5));
}
