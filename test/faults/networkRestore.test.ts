// Network and HTTP faults during a restore (the backup before it runs without faults), each
// case with its own namespaces, proxies and controller, all at once: a connection cut in the
// middle of a layer upload to the registry, a burst of registry 503s, and a layer read from S3
// that stalls past the idle timeout.
import { caseRunner, expectRestoreRecovered, report, resultOf, sharedWorld, within } from './outcome.js';
import { FAULT_SETTINGS } from './settings.js';

const KiB = 1024;
const world = sharedWorld();
const run = caseRunner(world);
afterAll(() => world.close(), 60_000);

it.concurrent('a connection reset in the middle of a layer upload to the registry: the restore completes', () => run({ id: 'reg-push-reset' }, async (c) => {
  await c.backupFirst();
  const cut = c.registry.http.addRule({
    method: ['PATCH', 'PUT'], path: new RegExp(`^/v2/${c.targetNs}/app/blobs/uploads/`), times: 1,
    action: { kind: 'resetRequestBody', afterBytes: 512 * KiB },
  });
  await c.createRestore();
  const healthy = c.healthyBackup(120_000);
  await within(cut.whenFired(), 60_000, 'the cut of the layer upload');
  const { obj, at } = await c.settle(() => c.getRestore(), 120_000);
  report(resultOf(c, { where: 'restore', fault: 'registry-upload-reset', server: 'registry' }, obj, { start: cut.firedAt[0]!, end: cut.firedAt[0]!, oneOff: true, settledAt: at, healthyAt: await healthy }));
  await expectRestoreRecovered(c, obj);
  expect(await healthy).toBeDefined();
}), 300_000);

it.concurrent('a burst of registry 503s on the first requests of the restore: it completes once the burst ends', () => run({ id: 'reg-503' }, async (c) => {
  await c.backupFirst();
  // Counted, not timed: the burst meets the restore whenever its first request comes (a loaded
  // machine may start it seconds later). More 503s than one request's tries: the run itself retries.
  const burstSize = FAULT_SETTINGS.REQUEST_ATTEMPTS * 3;
  const burst = c.registry.http.addRule({ path: new RegExp(`^/v2/${c.targetNs}/`), times: burstSize, action: { kind: 'status', status: 503 } });
  await c.createRestore();
  const healthy = c.healthyBackup(120_000);
  await within(burst.whenFired(burstSize), 120_000, 'the 503 burst');
  const start = burst.firedAt[0]!;
  const { obj, at } = await c.settle(() => c.getRestore(), 120_000);
  report(resultOf(c, { where: 'restore', fault: 'registry-503-burst', server: 'registry' }, obj, { start, end: burst.firedAt.at(-1)!, settledAt: at, healthyAt: await healthy }, `503s answered: ${burst.fired}`));
  expect(burst.fired).toBe(burstSize);
  await expectRestoreRecovered(c, obj);
  expect(await healthy).toBeDefined();
}), 300_000);

it.concurrent('a layer read from S3 that stalls past the idle timeout: the restore gives up on it and completes', () => run({ id: 's3-stall' }, async (c) => {
  await c.backupFirst();
  const layer = c.images[0]!.image.layers[1]!;
  const stall = c.s3.http.addRule({ method: 'GET', path: c.objectPath(layer.digest), times: 1, action: { kind: 'stallResponseBody', afterBytes: 256 * KiB } });
  try {
    await c.createRestore();
    const healthy = c.healthyBackup(120_000);
    await within(stall.whenFired(), 60_000, 'the stall');
    const start = stall.firedAt[0]!;
    const idle = FAULT_SETTINGS.IDLE_TIMEOUT_SECONDS * 1000;
    const { obj, at } = await c.settle(() => c.getRestore(), idle + 30_000);
    report(resultOf(c, { where: 'restore', fault: 's3-read-stall', server: 's3' }, obj, { start, end: start, oneOff: true, settledAt: at, healthyAt: await healthy }));
    await expectRestoreRecovered(c, obj);
    expect(at - start).toBeLessThan(idle + 20_000);
    expect(await healthy).toBeDefined();
  } finally {
    stall.release();
  }
}), 300_000);
