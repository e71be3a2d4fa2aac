import type { ImageStreamsBackup } from '../pkg/api/index.js';
import { operationProgress, parseOperationId } from './progress.js';

const target = { namespace: 'velero', name: 'b' };
const isb = (status: ImageStreamsBackup['status'], generation = 1): ImageStreamsBackup =>
  ({ metadata: { name: 'b', namespace: 'velero', generation, creationTimestamp: '2025-01-01T00:00:00Z' as never }, status });
const bytes = { total: 100, done: 30, skipped: 20 };
const progress = { images: { total: 1, done: 0, failed: 0 }, blobs: { total: 2, done: 1, skipped: 0 }, bytes };

test('parses <namespace>/<name> and refuses anything else', () => {
  expect(parseOperationId('velero/my-backup.1')).toEqual({ namespace: 'velero', name: 'my-backup.1' });
  for (const bad of ['velero', 'a/b/c', '/b', 'Velero/b', '']) expect(() => parseOperationId(bad)).toThrow(/not <namespace>/);
});

test('running: bytes done or already stored, of the total; started from the start time', () => {
  const p = operationProgress(target, isb({ phase: 'InProgress', observedGeneration: 1, startTimestamp: '2025-01-01T00:01:00Z', progress }), 0);
  expect(p).toMatchObject({ completed: false, err: '', nCompleted: 50, nTotal: 100, operationUnits: 'bytes', description: 'InProgress' });
  expect(p.started).toEqual({ seconds: Date.parse('2025-01-01T00:01:00Z') / 1000, nanos: 0 });
});

test('a terminal phase of an older generation is not the end', () => {
  expect(operationProgress(target, isb({ phase: 'Completed', observedGeneration: 1 }, 2)).completed).toBe(false);
  expect(operationProgress(target, isb({ phase: 'Completed', observedGeneration: 2 }, 2)).completed).toBe(true);
});

test('PartiallyFailed and Failed complete with an error naming the failed images', () => {
  const failures = Array.from({ length: 12 }, (_, i) => ({ imageStream: 'shop/web', reference: `r${i}`, message: 'gone' }));
  const p = operationProgress(target, isb({ phase: 'PartiallyFailed', observedGeneration: 1, message: '12 failed', failures,
    progress: { ...progress, images: { total: 20, done: 8, failed: 12 } } }));
  expect(p.completed).toBe(true);
  expect(p.err).toMatch(/^ImageStreamsBackup velero\/b ended PartiallyFailed: 12 failed; failed images: r0 \(image stream shop\/web\): gone; r1/);
  expect(p.err).toContain('r9 (image stream shop/web): gone; and 2 more');
  expect(p.err).not.toContain('r10 ');
  expect(operationProgress(target, isb({ phase: 'Failed', observedGeneration: 1, message: 'location unavailable' })).err)
    .toBe('ImageStreamsBackup velero/b ended Failed: location unavailable');
  expect(operationProgress(target, isb({ phase: 'Completed', observedGeneration: 1 })).err).toBe('');
});

test('a deleted ISB ends the operation with an error', () => {
  expect(operationProgress(target, undefined)).toMatchObject({ completed: true, err: 'ImageStreamsBackup velero/b was deleted: its images are not backed up' });
});
