// The API server restarted (hack/stack.sh restart kube-apiserver: same port, same etcd) in the
// middle of a backup. It runs on a stack of its own, started and stopped here, because every
// other test file on the shared stack would see its API server vanish for the restart.
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { loadStackEnv, repoRoot } from '../stackEnv.js';
import { caseRunner, expectBackupRecovered, report, resultOf, within } from './outcome.js';
import { restartStackComponent } from './processFaults.js';
import { waitFor } from '../fixture/wait.js';
import { openWorld, type FaultWorld } from './world.js';

const KiB = 1024;
const run = promisify(execFile);
const stack = (stackDir: string, ...args: string[]) =>
  run('bash', [path.join(repoRoot, 'hack', 'stack.sh'), ...args], { env: { ...process.env, STACK_DIR: stackDir }, maxBuffer: 16 * 1024 * 1024 });

let stackDir: string;
let world: FaultWorld | undefined;

beforeAll(async () => {
  stackDir = await mkdtemp(path.join(tmpdir(), 'isb-faults-stack-'));
  await stack(stackDir, 'up');
  world = await openWorld(loadStackEnv(path.join(stackDir, 'env')));
}, 300_000);

afterAll(async () => {
  await world?.close();
  await stack(stackDir, 'down').catch(() => {});
  await rm(stackDir, { recursive: true, force: true });
}, 120_000);

it('the API server restarted in the middle of a backup: the backup completes and the controller serves new objects', () =>
  caseRunner({ get: async () => world!, close: async () => {} })({ id: 'apiserver-restart' }, async (c) => {
    const layer = c.images[0]!.image.layers[1]!;
    // The copy is held half-way through a layer while the API server goes away, and let go
    // while it is away: the run ends with nobody to tell, and must report once it is back.
    const held = c.registry.http.addRule({ method: 'GET', path: c.blobPath('app', layer.digest), times: 1, action: { kind: 'stallResponseBody', afterBytes: 256 * KiB } });
    await c.createBackup();
    await within(held.whenFired(), 60_000, 'the layer read held half-way');
    const start = Date.now();
    const restarting = restartStackComponent(stackDir, 'kube-apiserver');
    const answers = () => c.getBackup().then(() => true, () => false);
    await waitFor('the API server to go away', answers, (up) => !up, 30_000, 50);
    held.release();
    await restarting;
    const end = Date.now();

    const healthy = c.healthyBackup(120_000);
    const { obj, at } = await c.settle(() => c.getBackup(), 120_000);
    report(resultOf(c, { where: 'backup', fault: 'apiserver-restart' }, obj, { start, end, settledAt: at, healthyAt: await healthy }, `API server away for ${end - start} ms`));
    await expectBackupRecovered(c, obj);
    expect(await healthy).toBeDefined();
  }), 400_000);
