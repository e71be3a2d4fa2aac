// The controller SIGKILLed at five points of a restore (the backup before it runs without
// faults), each case at once with its own controller; a new process then finishes the restore.
// The points are made exact by holding one request in the fault proxy: the bundle read, a layer
// read from S3 half-way, a layer upload to the registry half-way, the first manifest pushed (the
// registry has it, the controller does not know), and the first tag pushed.
import type { FaultCase } from './faultCase.js';
import type { RuleSpec } from './httpFaultProxy.js';
import { caseRunner, expectRestoreRecovered, report, resultOf, sharedWorld } from './outcome.js';
import { killAt } from './processFaults.js';

const KiB = 1024;
const world = sharedWorld();
const run = caseRunner(world);
afterAll(() => world.close(), 60_000);

interface KillPoint {
  point: string;
  hold: (c: FaultCase) => { route: 'registry' | 's3'; rule: RuleSpec };
}

const appLayer = (c: FaultCase) => c.images[0]!.image.layers[1]!;
const points: KillPoint[] = [
  { point: 'bundle-read', hold: (c) => ({ route: 's3', rule: { method: 'GET', path: c.bundlePath('backup'), times: 1, action: { kind: 'holdResponse' } } }) },
  { point: 'mid-layer-read', hold: (c) => ({ route: 's3', rule: { method: 'GET', path: c.objectPath(appLayer(c).digest), times: 1, action: { kind: 'stallResponseBody', afterBytes: 256 * KiB } } }) },
  { point: 'mid-layer-upload', hold: (c) => ({ route: 'registry', rule: { method: ['PATCH', 'PUT'], path: new RegExp(`^/v2/${c.targetNs}/app/blobs/uploads/`), times: 1, action: { kind: 'stallRequestBody', afterBytes: 256 * KiB } } }) },
  { point: 'first-manifest', hold: (c) => ({ route: 'registry', rule: { method: 'PUT', path: new RegExp(`^/v2/${c.targetNs}/[^/]+/manifests/sha256:`), times: 1, action: { kind: 'holdResponse' } } }) },
  { point: 'first-tag', hold: (c) => ({ route: 'registry', rule: { method: 'PUT', path: new RegExp(`^/v2/${c.targetNs}/[^/]+/manifests/(?!sha256:)`), times: 1, action: { kind: 'holdResponse' } } }) },
];

it.concurrent.each(points)('SIGKILL at $point of a restore: a new controller completes it', (p) => run({ id: `kill-r-${p.point}` }, async (c) => {
  await c.backupFirst();
  const hold = p.hold(c);
  const rule = (hold.route === 'registry' ? c.registry : c.s3).http.addRule(hold.rule);
  await c.createRestore();
  const killedAt = await killAt(c, `the restore to reach ${p.point}`, rule.whenFired());
  rule.release();
  const atKill = await c.getRestore();

  await c.start();
  const readyAt = Date.now();
  const healthy = c.healthyBackup(120_000);
  const { obj, at } = await c.settle(() => c.getRestore(), 120_000);
  report(resultOf(c, { where: 'restore', fault: `sigkill-${p.point}`, server: hold.route }, obj, { start: killedAt, end: readyAt, oneOff: true, settledAt: at, healthyAt: await healthy },
    `phase at the kill: ${atKill?.status?.phase}`));
  // Killed before the end: not yet in a final phase (a restore may not have written any status yet).
  expect(['Completed', 'PartiallyFailed', 'Failed']).not.toContain(atKill?.status?.phase);
  await expectRestoreRecovered(c, obj);
  expect(await healthy).toBeDefined();
}), 300_000);
