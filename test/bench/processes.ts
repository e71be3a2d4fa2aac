// The processes a run starts (registries, controllers): stopped one by one when done, and
// all at once if the run is interrupted, so none outlives it.
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { repoRoot } from '../stackEnv.js';

const running = new Set<ChildProcess>();

export function track(child: ChildProcess): ChildProcess {
  running.add(child);
  child.once('exit', () => running.delete(child));
  return child;
}

export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

export async function stopAll(): Promise<void> {
  await Promise.all([...running].map(stopChild));
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    }).on('error', reject);
  });
}

/** CPU seconds (user + system) a process has used so far, from /proc/<pid>/stat (clock ticks of 1/100 s). */
export function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** The pid of one of the stack's servers (`registry`, `minio`...), from hack/stack.sh's pid files. */
export function stackPid(name: string): number {
  return Number(readFileSync(path.join(repoRoot, '.stack', 'run', `${name}.pid`), 'utf8').trim());
}

/** This process's CPU seconds (user + system) so far. */
export function ownCpuSeconds(): number {
  const used = process.cpuUsage();
  return (used.user + used.system) / 1e6;
}

/** CPU seconds each source uses from now until the returned function is called, to a tenth. */
export function cpuMeter(sources: Record<string, () => number>): () => Record<string, number> {
  const before = Object.fromEntries(Object.entries(sources).map(([k, read]) => [k, read()]));
  return () => Object.fromEntries(Object.entries(sources).map(([k, read]) => [k, Math.round((read() - before[k]!) * 10) / 10]));
}
