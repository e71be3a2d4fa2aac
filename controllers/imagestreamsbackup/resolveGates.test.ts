import { Reasons } from '../conditions.js';
import type { Condition } from '../runtime/conditions.js';
import type { BackupSpec } from './ensureDefaults.js';
import { ensureDefaults } from './ensureDefaults.js';
import { resolveGates, type VeleroObservation } from './resolveGates.js';

const spec = (startBackup: boolean, ref?: { startOnCompletion?: boolean; namespace?: string }): BackupSpec => ensureDefaults({
  metadata: { namespace: 'adp', name: 'b', uid: 'u', generation: 3 },
  spec: { startBackup, ...(ref && { veleroBackupReference: { name: 'vb', ...ref } }) },
});
const phase = (p: string): VeleroObservation => ({ found: true, phase: p });
const absent: VeleroObservation = { found: false };
const seen = (reason: string): Condition =>
  ({ type: 'VeleroBackupItemsCollected', status: 'False', reason, message: '', lastTransitionTime: '2024-01-01T00:00:00Z' });

describe('resolveGates', () => {
  it.each([
    { name: 'holds a backup without a Velero reference while startBackup is false', s: spec(false), v: undefined, action: 'wait', reason: Reasons.StartBackupFalse },
    { name: 'starts a backup without a Velero reference when startBackup is true', s: spec(true), v: undefined, action: 'start' },
    { name: 'waits for a Velero Backup that was never seen', s: spec(true, {}), v: absent, action: 'wait', reason: Reasons.WaitingForVeleroBackup, cond: 'NotFound' },
    { name: 'waits while the Velero Backup runs, even with startBackup true', s: spec(true, {}), v: phase('InProgress'), action: 'wait', reason: Reasons.WaitingForVeleroBackup, cond: 'InProgress' },
    { name: 'waits while the Velero Backup has no phase yet', s: spec(true, {}), v: phase(''), action: 'wait', reason: Reasons.WaitingForVeleroBackup, cond: 'New' },
    { name: 'starts once Velero waits for plugin operations (its items are collected)', s: spec(false, { startOnCompletion: true }), v: phase('WaitingForPluginOperations'), action: 'start', cond: 'WaitingForPluginOperations' },
    { name: 'starts, with a warning, when Velero waits for plugin operations after some items failed', s: spec(false, { startOnCompletion: true }), v: phase('WaitingForPluginOperationsPartiallyFailed'), action: 'start', warning: true },
    { name: 'starts while Velero finalizes', s: spec(true, {}), v: phase('Finalizing'), action: 'start' },
    { name: 'starts, with a warning, while Velero finalizes a partial backup', s: spec(true, {}), v: phase('FinalizingPartiallyFailed'), action: 'start', warning: true },
    { name: 'starts on completion with startOnCompletion although startBackup is false', s: spec(false, { startOnCompletion: true }), v: phase('Completed'), action: 'start', cond: 'Completed' },
    { name: 'starts on completion with startBackup true', s: spec(true, {}), v: phase('Completed'), action: 'start' },
    { name: 'holds after completion when neither startBackup nor startOnCompletion is set', s: spec(false, {}), v: phase('Completed'), action: 'wait', reason: Reasons.StartBackupFalse, cond: 'Completed' },
    { name: 'starts, with a warning, when the Velero Backup partially failed', s: spec(false, { startOnCompletion: true }), v: phase('PartiallyFailed'), action: 'start', warning: true },
    { name: 'fails when the Velero Backup failed', s: spec(true, {}), v: phase('Failed'), action: 'fail', reason: Reasons.VeleroBackupFailed, cond: 'Failed' },
    { name: 'fails when the Velero Backup failed validation', s: spec(false, { startOnCompletion: true }), v: phase('FailedValidation'), action: 'fail', reason: Reasons.VeleroBackupFailed },
    { name: 'fails when the Velero Backup is being deleted', s: spec(true, {}), v: phase('Deleting'), action: 'fail', reason: Reasons.VeleroBackupNotFound },
    { name: 'fails when a Velero Backup seen before is gone', s: spec(true, {}), v: absent, prev: seen('InProgress'), action: 'fail', reason: Reasons.VeleroBackupNotFound, cond: 'Deleted' },
    { name: 'keeps waiting when a never-seen Velero Backup is still absent', s: spec(true, {}), v: absent, prev: seen('NotFound'), action: 'wait', reason: Reasons.WaitingForVeleroBackup },
  ])('$name', ({ s, v, prev, action, reason, cond, warning }) => {
    const d = resolveGates(s, v, prev);
    expect(d.action).toBe(action);
    if (reason) expect(d).toMatchObject({ reason });
    if (cond) expect(d.veleroCondition).toMatchObject({ type: 'VeleroBackupItemsCollected', reason: cond, observedGeneration: 3 });
    if (warning) expect(d).toMatchObject({ warning: expect.stringContaining('PartiallyFailed') });
    if (d.action !== 'start') expect(d.message.length).toBeGreaterThan(10);
  });

  it('names the Velero Backup in its own namespace when the reference gives one', () => {
    const d = resolveGates(spec(true, { namespace: 'velero' }), absent);
    expect(d).toMatchObject({ message: expect.stringContaining('velero/vb') });
  });

  it('defaults the Velero Backup namespace to the ISB one', () => {
    expect(spec(true, {}).veleroBackup).toEqual({ namespace: 'adp', name: 'vb', startOnCompletion: false });
  });
});
