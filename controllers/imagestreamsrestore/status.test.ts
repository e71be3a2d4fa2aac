import type { ImageFailure, Progress } from '../../pkg/contracts.js';
import { findCondition } from '../runtime/conditions.js';
import type { RestoreSpec } from './ensureDefaults.js';
import { capFailures } from '../runtime/status.js';
import { failedStatus, finishedPhase, finishedStatus, observedRunStatus, startedStatus, waitingStatus } from './status.js';

const spec: RestoreSpec = {
  namespace: 'adp', name: 'r', uid: 'u', generation: 3, createdAt: new Date('2024-01-01T00:00:00Z'),
  backupName: 'nightly', imageStreams: [], namespaceMapping: {}, verifyOnly: false,
};
const t0 = new Date('2024-01-01T00:00:10Z');
const t1 = new Date('2024-01-01T00:05:00Z');
const progress = (total: number, done: number, failed: number): Progress => ({
  images: { total, done, failed }, blobs: { total: 4, done: 3, skipped: 1 }, bytes: { total: 400, done: 300, skipped: 100 },
});
const failure = (i: number): ImageFailure => ({ imageStream: 'shop/web', reference: `sha256:${i}`, message: `digest mismatch ${i}` });

describe('finishedPhase', () => {
  it.each([
    { name: 'Completed when every image was restored', p: progress(3, 3, 0), failures: 0, phase: 'Completed' },
    { name: 'Completed for a backup without images', p: progress(0, 0, 0), failures: 0, phase: 'Completed' },
    { name: 'PartiallyFailed when some images failed', p: progress(3, 2, 1), failures: 1, phase: 'PartiallyFailed' },
    { name: 'PartiallyFailed when only a tag or a selector failed', p: progress(3, 3, 0), failures: 1, phase: 'PartiallyFailed' },
    { name: 'Failed when no image could be restored', p: progress(2, 0, 2), failures: 2, phase: 'Failed' },
  ])('$name', ({ p, failures, phase }) => {
    expect(finishedPhase({ progress: p, failures: Array.from({ length: failures }, (_, i) => failure(i)) })).toBe(phase);
  });
});

describe('restore status', () => {
  it('waits with the deadline in the message and says whether the location answered', () => {
    const s = waitingStatus(undefined, spec, { reason: 'BackupNotFound', message: 'backup "nightly" is not in bucket b', locationAvailable: true, locationName: 'default', until: t1 }, t0);
    expect(s).toMatchObject({ phase: 'InProgress', backupName: 'nightly', observedGeneration: 3, message: expect.stringContaining('retrying until 2024-01-01T00:05:00Z') });
    expect(findCondition(s.conditions as never, 'Ready')).toMatchObject({ status: 'False', reason: 'BackupNotFound', observedGeneration: 3 });
    expect(findCondition(s.conditions as never, 'BackupLocationAvailable')).toMatchObject({ status: 'True' });
    expect(findCondition(s.conditions as never, 'BackupFound')).toMatchObject({ status: 'False', reason: 'BackupNotFound' });

    const noLocation = waitingStatus(s, spec, { reason: 'BackupLocationNotFound', message: 'BSL "x" not found', locationAvailable: false, until: t1 }, t0);
    expect(findCondition(noLocation.conditions as never, 'BackupLocationAvailable')).toMatchObject({ status: 'False', reason: 'BackupLocationNotFound' });
    expect(findCondition(noLocation.conditions as never, 'BackupFound')).toMatchObject({ status: 'Unknown' });
  });

  it('starts queued with fresh progress, and keeps start time and progress when resumed', () => {
    const first = startedStatus(undefined, spec, { locationName: 'default', bundleKey: 'k', imageStreams: 2, images: 5, resumed: false }, t0);
    expect(first).toMatchObject({ phase: 'InProgress', startTimestamp: '2024-01-01T00:00:10Z', progress: { images: { total: 5, done: 0, failed: 0 } } });
    expect(first.message).toBe('restoring 2 image streams (5 images) of backup "nightly" from backup location default');
    expect(findCondition(first.conditions as never, 'Ready')).toMatchObject({ status: 'False', reason: 'RestoreQueued' });
    expect(findCondition(first.conditions as never, 'BackupFound')).toMatchObject({ status: 'True', message: 'found k' });

    const interrupted = { ...first, progress: progress(5, 2, 0), failures: [failure(1)], completionTimestamp: 'x' };
    const again = startedStatus(interrupted, spec, { locationName: 'default', bundleKey: 'k', imageStreams: 2, images: 5, resumed: true }, t1);
    expect(again).toMatchObject({ startTimestamp: '2024-01-01T00:00:10Z', progress: progress(5, 2, 0) });
    expect(again.failures).toBeUndefined();
    expect(again.completionTimestamp).toBeUndefined();
    expect(again.message).toMatch(/^resumed restoring/);
  });

  it.each([
    { queued: true, reason: 'RestoreQueued', message: /free slot/ },
    { queued: false, reason: 'RestoreInProgress', message: /^restoring 2 image streams/ },
  ])('follows a run that is queued=$queued with Ready $reason', ({ queued, reason, message }) => {
    const started = startedStatus(undefined, spec, { locationName: 'default', bundleKey: 'k', imageStreams: 2, images: 5, resumed: false }, t0);
    const s = observedRunStatus(started, spec, queued, t1);
    expect(findCondition(s.conditions as never, 'Ready')).toMatchObject({ status: 'False', reason, message: expect.stringMatching(message) });
  });

  it.each([
    { name: 'Completed is Ready', p: progress(2, 2, 0), n: 0, phase: 'Completed', ready: 'True', reason: 'Completed' },
    { name: 'PartiallyFailed is Ready, with its failures', p: progress(2, 1, 1), n: 1, phase: 'PartiallyFailed', ready: 'True', reason: 'PartiallyFailed' },
    { name: 'Failed is not Ready', p: progress(2, 0, 2), n: 2, phase: 'Failed', ready: 'False', reason: 'RestoreFailed' },
  ])('ends $name', ({ p, n, phase, ready, reason }) => {
    const failures = Array.from({ length: n }, (_, i) => failure(i));
    const s = finishedStatus(undefined, spec, { progress: p, failures }, t1);
    expect(s).toMatchObject({ phase, progress: p, completionTimestamp: '2024-01-01T00:05:00Z' });
    expect(s.failures).toEqual(n ? failures : undefined);
    expect(s.message).toContain(`${p.images.done} of 2 images restored`);
    if (n) expect(s.message).toContain('first failure: shop/web sha256:0: digest mismatch 0');
    expect(findCondition(s.conditions as never, 'Ready')).toMatchObject({ status: ready, reason });
  });

  it('fails with the reason, on the conditions the failure is about', () => {
    const s = failedStatus(undefined, spec, { reason: 'BackupNotFound', message: 'backup "nightly" was not found', notFound: true }, t1);
    expect(s).toMatchObject({ phase: 'Failed', message: 'backup "nightly" was not found', completionTimestamp: '2024-01-01T00:05:00Z' });
    expect(findCondition(s.conditions as never, 'Ready')).toMatchObject({ status: 'False', reason: 'BackupNotFound' });
    expect(findCondition(s.conditions as never, 'BackupFound')).toMatchObject({ status: 'False', reason: 'BackupNotFound' });
    expect(findCondition(s.conditions as never, 'BackupLocationAvailable')).toBeUndefined();
  });

  it('keeps status small whatever the number and size of failures', () => {
    const many = Array.from({ length: 500 }, (_, i) => ({ ...failure(i), message: 'x'.repeat(10_000) }));
    const capped = capFailures(many);
    expect(capped).toHaveLength(50);
    expect(capped[49]!.reference).toBe('sha256:49');
    expect(capped.every((f) => f.message.length === 4096)).toBe(true);
    expect(finishedStatus(undefined, spec, { progress: progress(500, 0, 500), failures: many }, t1).message!.length).toBeLessThanOrEqual(1024);
  });
});
