// Process faults: the controller SIGKILLed at a chosen point, and a component of the local
// stack restarted in place (hack/stack.sh restart, which keeps its ports and data).
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { repoRoot } from '../stackEnv.js';
import type { FaultCase } from './faultCase.js';
import { within } from './outcome.js';

const run = promisify(execFile);

/** Waits for the point (a fault-proxy rule that fired: a request held), then SIGKILLs the case's controller; returns when. */
export async function killAt(c: FaultCase, what: string, point: Promise<unknown>, timeoutMs = 90_000): Promise<number> {
  await within(point, timeoutMs, what);
  await c.controller.kill('SIGKILL');
  return Date.now();
}

/** `hack/stack.sh restart <component>` on the stack in `stackDir`. */
export async function restartStackComponent(stackDir: string, component: string): Promise<void> {
  await run('bash', [path.join(repoRoot, 'hack', 'stack.sh'), 'restart', component], { env: { ...process.env, STACK_DIR: stackDir } });
}
