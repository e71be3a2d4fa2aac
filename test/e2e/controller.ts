// Starts the controller as a child process against the local stack, as `npm start` would run it
// (through tsx, so no build step races with other test files), and stops it.
import { spawn } from 'node:child_process';
import type { StackEnv } from '../stackEnv.js';
import { repoRoot } from '../stackEnv.js';

export interface ControllerProcess {
  readonly pid: number;
  readonly healthPort: number;
  readonly metricsPort: number;
  /** Everything the process wrote so far (JSON log lines, warnings). */
  logs(): string;
  /** Resolves when /readyz answers 200 and the process leads (every informer has listed). */
  waitReady(timeoutMs?: number): Promise<void>;
  metrics(): Promise<string>;
  /** Sends the signal and waits for the exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export interface StartOptions {
  namespaces: string[];
  env?: Record<string, string>;
  /** Run the compiled controller (dist/, made by `npm run build` before `npm test`) as the image does, instead of the sources through tsx (which writes a cache to TMPDIR). */
  built?: boolean;
}

export async function startController(stack: StackEnv, opts: StartOptions): Promise<ControllerProcess> {
  const args = opts.built ? ['dist/controllers/main.js'] : ['--import', 'tsx', 'controllers/main.ts'];
  const child = spawn(process.execPath, args, {
    cwd: repoRoot,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      KUBECONFIG: stack.KUBECONFIG,
      INTERNAL_REGISTRY: stack.REGISTRY,
      REGISTRY_CA_FILE: stack.REGISTRY_CA_FILE,
      REGISTRY_USER: stack.REGISTRY_USER,
      REGISTRY_PASSWORD: stack.REGISTRY_PASSWORD,
      WATCH_NAMESPACES: opts.namespaces.join(','),
      HEALTH_PORT: '0',
      METRICS_PORT: '0',
      // Short leases: a controller started after one was killed takes over within seconds.
      LEASE_DURATION_SECONDS: '4',
      RENEW_DEADLINE_SECONDS: '3',
      RETRY_PERIOD_SECONDS: '1',
      ...opts.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  const ports = await new Promise<{ healthPort: number; metricsPort: number }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`controller did not start in 60s:\n${output}`)), 60_000);
    const onData = () => {
      for (const line of output.split('\n')) {
        if (!line.includes('"probes listening"')) continue;
        const { healthPort, metricsPort } = JSON.parse(line) as { healthPort: number; metricsPort: number };
        clearTimeout(timer);
        child.stderr!.off('data', onData);
        return resolve({ healthPort, metricsPort });
      }
    };
    child.stderr!.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`controller exited with ${code} before it started:\n${output}`));
    });
  });

  return {
    pid: child.pid!,
    ...ports,
    logs: () => output,
    waitReady: async (timeoutMs = 60_000) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const status = await fetch(`http://127.0.0.1:${ports.healthPort}/readyz`).then((r) => r.status, () => 0);
        const leads = status === 200 && /^imagestream_backup_leader 1$/m.test(await fetch(`http://127.0.0.1:${ports.metricsPort}/metrics`).then((r) => r.text(), () => ''));
        if (leads) return;
        if (Date.now() > deadline) throw new Error(`controller not ready after ${timeoutMs}ms:\n${output}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    },
    metrics: async () => (await fetch(`http://127.0.0.1:${ports.metricsPort}/metrics`)).text(),
    kill: async (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}
