// The controller as its own process, as it runs in a cluster: `node dist/controllers/main.js`
// configured by its environment. Its peak resident memory is the kernel's VmHWM, which can be
// reset between phases (clear_refs), so each phase reports its own peak.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { repoRoot, type StackEnv } from '../stackEnv.js';
import { summarizeProfile, type ProfileSummary } from './profile.js';
import { freePort, stopChild, track } from './processes.js';

export interface ControllerProcess {
  pid: number;
  log: string;
  /** Peak resident set size since start or since the last resetPeak(), in bytes. */
  peakRss(): Promise<number>;
  resetPeak(): Promise<void>;
  stop(): Promise<void>;
}

export interface ControllerOptions {
  name: string;
  /** The run's folder, for the log. */
  dir: string;
  namespace: string;
  /** The registry it treats as the cluster's internal one. */
  registry: string;
  /** The built controller to run (default dist/controllers/main.js). */
  main?: string;
  /** When set: run under V8's CPU profiler, and hand the summary over once stopped. */
  profile?: { dir: string; done: (summary: ProfileSummary) => void };
}

export async function startController(env: StackEnv, opts: ControllerOptions): Promise<ControllerProcess> {
  const healthPort = await freePort();
  const log = path.join(opts.dir, `${opts.name}.log`);
  const out = createWriteStream(log);
  const profiler = opts.profile ? ['--cpu-prof', '--cpu-prof-dir', opts.profile.dir] : [];
  const child = track(spawn(process.execPath, [...profiler, opts.main ?? path.join(repoRoot, 'dist', 'controllers', 'main.js')], {
    cwd: repoRoot,
    env: {
      ...process.env,
      ...imageEnv(),
      KUBECONFIG: env.KUBECONFIG,
      WATCH_NAMESPACES: opts.namespace,
      INTERNAL_REGISTRY: opts.registry,
      REGISTRY_CA_FILE: env.REGISTRY_CA_FILE,
      REGISTRY_USER: env.REGISTRY_USER,
      REGISTRY_PASSWORD: env.REGISTRY_PASSWORD,
      HEALTH_PORT: String(healthPort),
      METRICS_PORT: '0',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  }));
  child.stdout!.pipe(out);
  child.stderr!.pipe(out);
  const status = `/proc/${child.pid}/status`;
  const proc: ControllerProcess = {
    pid: child.pid!,
    log,
    async peakRss() {
      const m = /^VmHWM:\s+(\d+) kB/m.exec(await readFile(status, 'utf8'));
      if (!m) throw new Error(`no VmHWM in ${status}`);
      return Number(m[1]) * 1024;
    },
    resetPeak: () => writeFile(`/proc/${child.pid}/clear_refs`, '5'),
    stop: async () => {
      const running = child.exitCode === null && child.signalCode === null;
      await stopChild(child);
      if (running && opts.profile) {
        const summary = await summarizeProfile(opts.name, opts.profile.dir);
        if (summary) opts.profile.done(summary);
      }
    },
  };
  try {
    await waitReady(child, healthPort, log);
  } catch (err) {
    await proc.stop();
    throw err;
  }
  return proc;
}

/** The ENV lines of the Dockerfile's last stage (KEY=VALUE words): the controller runs as the image runs it. */
export function imageEnv(dockerfile = readFileSync(path.join(repoRoot, 'Dockerfile'), 'utf8')): Record<string, string> {
  const stages = dockerfile.split(/^FROM\s/m);
  const out: Record<string, string> = {};
  for (const line of stages[stages.length - 1]!.split('\n')) {
    const m = /^ENV\s+(.*)$/.exec(line.trim());
    if (!m) continue;
    for (const word of m[1]!.split(/\s+/)) {
      const eq = word.indexOf('=');
      if (eq > 0) out[word.slice(0, eq)] = word.slice(eq + 1);
    }
  }
  return out;
}

async function waitReady(child: ChildProcess, port: number, log: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the controller exited with ${child.exitCode} during start-up: see ${log}`);
    const code = await new Promise<number>((resolve) => {
      http.get(`http://127.0.0.1:${port}/readyz`, (res) => { res.resume(); resolve(res.statusCode ?? 0); }).on('error', () => resolve(0));
    });
    if (code === 200) return;
    if (Date.now() > deadline) throw new Error(`the controller was not ready after 60s: see ${log}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
