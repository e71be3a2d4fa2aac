import type { ImageStreamsRestore } from '../../pkg/api/index.js';
import { ensureDefaults } from './ensureDefaults.js';

const now = new Date('2024-05-05T05:05:05Z');
const isr = (spec: ImageStreamsRestore['spec'], creationTimestamp?: string): ImageStreamsRestore => ({
  metadata: { namespace: 'adp', name: 'r', uid: 'u', generation: 2, ...(creationTimestamp && { creationTimestamp: creationTimestamp as unknown as Date }) },
  spec,
});

describe('ensureDefaults', () => {
  it.each([
    { name: 'reads the backup name from imageStreamsBackupReference', spec: { imageStreamsBackupReference: { name: 'a' } }, backup: 'a' },
    { name: 'accepts the original design spelling ImageStreamsBackupReference', spec: { ImageStreamsBackupReference: { name: 'b' } }, backup: 'b' },
    { name: 'prefers the documented spelling when both are given', spec: { imageStreamsBackupReference: { name: 'a' }, ImageStreamsBackupReference: { name: 'b' } }, backup: 'a' },
    { name: 'leaves the name empty when neither is given', spec: {}, backup: '' },
  ])('$name', ({ spec, backup }) => {
    const s = ensureDefaults(isr(spec), now);
    expect(s.backupName).toBe(backup);
    expect(s.imageStreams).toEqual([]);
    expect(s.namespaceMapping).toEqual({});
    expect(s.backupLocation).toBeUndefined();
    expect(s.verifyOnly).toBe(false);
  });

  it.each([
    { name: 'counts the wait from creationTimestamp', ts: '2024-01-01T00:00:00Z', created: '2024-01-01T00:00:00.000Z' },
    { name: 'falls back to now without creationTimestamp', ts: undefined, created: now.toISOString() },
    { name: 'falls back to now on a malformed creationTimestamp', ts: 'yesterday', created: now.toISOString() },
  ])('$name', ({ ts, created }) => {
    expect(ensureDefaults(isr({ imageStreamsBackupReference: { name: 'a' } }, ts), now).createdAt.toISOString()).toBe(created);
  });

  it('keeps the selectors, mapping and location as given', () => {
    const s = ensureDefaults(isr({
      imageStreamsBackupReference: { name: 'a' }, backupLocation: { name: 'default' },
      imageStreams: [{ namespace: 'x' }], namespaceMapping: { x: 'y' }, verifyOnly: true,
    }), now);
    expect(s).toMatchObject({ namespace: 'adp', name: 'r', uid: 'u', generation: 2, backupLocation: { name: 'default' }, imageStreams: [{ namespace: 'x' }], namespaceMapping: { x: 'y' }, verifyOnly: true });
  });
});
