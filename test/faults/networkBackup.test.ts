// Network and HTTP faults during a backup, each case with its own namespaces, proxies and
// controller, all at once: a connection cut in the middle of a layer (the upload to S3, the read
// from the registry), a burst of S3 SlowDown 503s, registry 429s with Retry-After, a layer read
// that stalls past the idle timeout, and 200 ms of latency on every request.
import type { FaultCase } from './faultCase.js';
import { caseRunner, expectBackupRecovered, report, resultOf, sharedWorld, within } from './outcome.js';
import { FAULT_SETTINGS } from './settings.js';

const KiB = 1024;
const world = sharedWorld();
const run = caseRunner(world);
afterAll(() => world.close(), 60_000);

const withCase = (id: string, body: (c: FaultCase) => Promise<void>) => run({ id }, body);

const appLayer = (c: FaultCase) => c.images[0]!.image.layers[1]!;

it.concurrent('a connection reset in the middle of a layer upload to S3: the backup completes', () => withCase('s3-reset', async (c) => {
  const cut = c.s3.http.addRule({ method: 'PUT', path: c.objectPath(appLayer(c).digest), times: 1, action: { kind: 'resetRequestBody', afterBytes: 512 * KiB } });
  await c.createBackup();
  const healthy = c.healthyBackup(120_000);
  await within(cut.whenFired(), 60_000, 'the cut of the layer upload');
  const { obj, at } = await c.settle(() => c.getBackup(), 120_000);
  report(resultOf(c, { where: 'backup', fault: 's3-upload-reset', server: 's3' }, obj, { start: cut.firedAt[0]!, end: cut.firedAt[0]!, oneOff: true, settledAt: at, healthyAt: await healthy }));
  await expectBackupRecovered(c, obj);
  expect(await healthy).toBeDefined();
}), 300_000);

it.concurrent('a connection reset in the middle of a layer read from the registry: the backup completes', () => withCase('reg-read-reset', async (c) => {
  const layer = appLayer(c);
  const cut = c.registry.http.addRule({ method: 'GET', path: c.blobPath('app', layer.digest), times: 1, action: { kind: 'resetResponseBody', afterBytes: 512 * KiB } });
  await c.createBackup();
  const healthy = c.healthyBackup(120_000);
  await within(cut.whenFired(), 60_000, 'the cut of the layer read');
  const { obj, at } = await c.settle(() => c.getBackup(), 120_000);
  report(resultOf(c, { where: 'backup', fault: 'registry-read-reset', server: 'registry' }, obj, { start: cut.firedAt[0]!, end: cut.firedAt[0]!, oneOff: true, settledAt: at, healthyAt: await healthy }));
  await expectBackupRecovered(c, obj);
  expect(await healthy).toBeDefined();
}), 300_000);

it.concurrent('a 5 s burst of S3 SlowDown 503s on every request: the backup completes once it ends', () => withCase('s3-slowdown', async (c) => {
  const burstMs = 5_000;
  const burst = c.s3.http.addRule({ path: /./, forMs: burstMs, action: { kind: 'status', status: 503 } });
  const start = Date.now();
  await c.createBackup();
  const healthy = c.healthyBackup(120_000);
  const { obj, at } = await c.settle(() => c.getBackup(), 120_000);
  report(resultOf(c, { where: 'backup', fault: 's3-slowdown-503-burst', server: 's3' }, obj, { start, end: start + burstMs, settledAt: at, healthyAt: await healthy }, `503s answered: ${burst.fired}`));
  expect(burst.fired).toBeGreaterThan(0);
  await expectBackupRecovered(c, obj);
  expect(await healthy).toBeDefined();
}), 300_000);

it.concurrent('registry 429s with Retry-After on a manifest read: the backup waits as asked and completes', () => withCase('reg-429', async (c) => {
  const retryAfter = 2;
  // One image's manifest only, so that every 429 answers a retry of the same read.
  const limited = c.registry.http.addRule({ method: 'GET', path: /^\/v2\/[^/]+\/app\/manifests\//, times: 3, action: { kind: 'status', status: 429, retryAfterSeconds: retryAfter } });
  const start = Date.now();
  await c.createBackup();
  const healthy = c.healthyBackup(120_000);
  const { obj, at } = await c.settle(() => c.getBackup(), 120_000);
  const gaps = limited.firedAt.slice(1).map((t, i) => t - limited.firedAt[i]!);
  report(resultOf(c, { where: 'backup', fault: 'registry-429-retry-after', server: 'registry' }, obj, { start, end: limited.firedAt.at(-1) ?? start, settledAt: at, healthyAt: await healthy },
    `429s answered: ${limited.fired}; gaps between them (ms): ${gaps.join(',')}`));
  await expectBackupRecovered(c, obj);
  expect(limited.fired).toBe(3);
  // Retry-After is honoured: no retry came sooner than asked.
  expect(Math.min(...gaps)).toBeGreaterThanOrEqual(retryAfter * 1000 * 0.9);
  expect(await healthy).toBeDefined();
}), 300_000);

it.concurrent('a layer read that stalls past the idle timeout: the backup gives up on it and completes', () => withCase('reg-stall', async (c) => {
  const stall = c.registry.http.addRule({ method: 'GET', path: c.blobPath('app', appLayer(c).digest), times: 1, action: { kind: 'stallResponseBody', afterBytes: 256 * KiB } });
  try {
    await c.createBackup();
    const healthy = c.healthyBackup(120_000);
    await within(stall.whenFired(), 60_000, 'the stall');
    const start = stall.firedAt[0]!;
    // The stall lasts until released below; the controller must end it itself (IDLE_TIMEOUT_SECONDS).
    const idle = FAULT_SETTINGS.IDLE_TIMEOUT_SECONDS * 1000;
    const { obj, at } = await c.settle(() => c.getBackup(), idle + 30_000);
    report(resultOf(c, { where: 'backup', fault: 'registry-read-stall', server: 'registry' }, obj, { start, end: start, oneOff: true, settledAt: at, healthyAt: await healthy }));
    await expectBackupRecovered(c, obj);
    // The idle timeout, then a retry of the read or of the run (RETRY_BASE_SECONDS): not minutes.
    expect(at - start).toBeLessThan(idle + 20_000);
    expect(await healthy).toBeDefined();
  } finally {
    stall.release();
  }
}), 300_000);

it.concurrent('200 ms of latency on everything the registry and S3 send: backup and restore complete', () => withCase('latency', async (c) => {
  const start = Date.now();
  for (const route of [c.registry, c.s3]) await route.tcp.addToxic('latency', { type: 'latency', attributes: { latency: 200 } });
  await c.createBackup();
  const healthy = c.healthyBackup(120_000);
  const { obj, at } = await c.settle(() => c.getBackup(), 180_000);
  report(resultOf(c, { where: 'backup', fault: 'latency-200ms', server: 's3' }, obj, { start, end: at, settledAt: at, healthyAt: await healthy }, `backup took ${at - start} ms`));
  await expectBackupRecovered(c, obj);
  const restoreStart = Date.now();
  await c.createRestore();
  const restored = await c.settle(() => c.getRestore(), 180_000);
  report(resultOf(c, { where: 'restore', fault: 'latency-200ms', server: 'registry' }, restored.obj, { start: restoreStart, end: restored.at, settledAt: restored.at, healthyAt: await healthy }, `restore took ${restored.at - restoreStart} ms`));
  expect(restored.obj.status?.phase).toBe('Completed');
  expect(await c.restoreDifferences()).toEqual([]);
  expect(await healthy).toBeDefined();
}), 400_000);
