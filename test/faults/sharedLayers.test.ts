// Two runs sharing layers at once: two backups of images with a common base layer into the
// same pool, then two restores of them into the same namespace, with S3 uploads slowed (toxiproxy
// bandwidth) so that both runs are moving the shared layer at the same time.
import { caseRunner, expectBackupRecovered, expectRestoreRecovered, report, resultOf, sharedWorld } from './outcome.js';

const world = sharedWorld();
const run = caseRunner(world);
afterAll(() => world.close(), 60_000);

it('two backups and then two restores sharing a layer, at once: all complete, the pool holds each blob once', () => run({ id: 'shared-layers' }, async (c) => {
  // 2 MB/s: a 1 MiB layer takes half a second to upload, long enough for both runs to be at it.
  await c.s3.tcp.addToxic('slow-uploads', { type: 'bandwidth', attributes: { rate: 2048 } }, 'upstream');
  const start = Date.now();
  await Promise.all([c.createBackup('app', ['app']), c.createBackup('tool', ['tool'])]);
  const healthy = c.healthyBackup(120_000);
  const [app, tool] = await Promise.all([c.settle(() => c.getBackup('app'), 120_000), c.settle(() => c.getBackup('tool'), 120_000)]);
  const backupsDone = Math.max(app.at, tool.at);
  for (const b of [app, tool]) {
    report(resultOf(c, { where: 'backup', fault: 'two-runs-sharing-layers', server: 's3' }, b.obj, { start, end: backupsDone, settledAt: b.at, healthyAt: await healthy },
      `backup ${b.obj.metadata?.name}; serverReceived and uploadedAgain cover both backups`));
  }
  await expectBackupRecovered(c, app.obj);
  await expectBackupRecovered(c, tool.obj);

  const restoreStart = Date.now();
  await Promise.all([c.createRestore('app', 'app'), c.createRestore('tool', 'tool')]);
  const restores = await Promise.all([c.settle(() => c.getRestore('app'), 120_000), c.settle(() => c.getRestore('tool'), 120_000)]);
  const restoresDone = Math.max(...restores.map((r) => r.at));
  for (const r of restores) {
    report(resultOf(c, { where: 'restore', fault: 'two-runs-sharing-layers', server: 'registry' }, r.obj, { start: restoreStart, end: restoresDone, settledAt: r.at, healthyAt: await healthy },
      `restore ${r.obj.metadata?.name}; serverReceived and uploadedAgain cover both restores`));
    expect(r.obj.status?.phase).toBe('Completed');
  }
  await expectRestoreRecovered(c, restores[0]!.obj);
  expect(await healthy).toBeDefined();
}), 400_000);
