// A second, empty cluster for disaster-recovery tests: its own etcd + kube-apiserver (with this
// project's, Velero's and the ImageStream CRDs) and its own empty distribution registry, started
// from the local stack's binaries on free ports with data in a temp dir. It shares the stack's
// PKI (so the same CA verifies it) and its htpasswd (so the same user logs in), and it has no
// object storage of its own: pointed at the stack's MinIO, it sees the backups of cluster A.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { createWriteStream, readdirSync } from 'node:fs';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import https from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { repoRoot, type StackEnv } from '../stackEnv.js';
import { freePort } from '../fixture/wait.js';

const run = promisify(execFile);

export interface SecondCluster {
  kubeconfig: string;
  /** host:port of the empty registry; same CA, user and password as the stack's. */
  registry: string;
  dir: string;
  stop(): Promise<void>;
}


/** Resolves once `probe` succeeds; fails early when the process died, or at the deadline. */
async function waitUntil(what: string, proc: ChildProcess, log: string, probe: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (proc.exitCode !== null || proc.signalCode !== null) {
      throw new Error(`${what} exited during start-up (${proc.exitCode ?? proc.signalCode}):\n${await tail(log)}`);
    }
    if (await probe().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`${what} not ready after ${timeoutMs} ms:\n${await tail(log)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function tail(file: string): Promise<string> {
  return (await readFile(file, 'utf8').catch(() => '')).split('\n').slice(-20).join('\n');
}

function httpsOk(url: string, opts: https.RequestOptions): Promise<boolean> {
  return new Promise((resolve) => {
    const req = https.get(url, { ...opts, timeout: 2_000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
  });
}

export async function startSecondCluster(env: StackEnv): Promise<SecondCluster> {
  const stackDir = path.dirname(env.KUBECONFIG);
  const pki = path.join(stackDir, 'pki');
  const bin = (name: string) => path.join(env.STACK_BIN, name);
  const dir = await mkdtemp(path.join(tmpdir(), 'isb-second-cluster-'));
  const procs: ChildProcess[] = [];
  const start = (name: string, cmd: string, args: string[], extraEnv: Record<string, string> = {}) => {
    const log = path.join(dir, `${name}.log`);
    const out = createWriteStream(log);
    const p = spawn(cmd, args, { env: { ...process.env, ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
    p.stdout!.pipe(out);
    p.stderr!.pipe(out);
    procs.push(p);
    return { proc: p, log };
  };
  const stop = async () => {
    // Reverse order: the API server before its etcd.
    for (const p of [...procs].reverse()) {
      if (p.exitCode !== null || p.signalCode !== null) continue;
      const exited = new Promise<void>((r) => p.once('exit', () => r()));
      p.kill('SIGTERM');
      const killed = await Promise.race([exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 5_000))]);
      if (!killed) {
        p.kill('SIGKILL');
        await exited;
      }
    }
    await rm(dir, { recursive: true, force: true });
  };

  try {
    const [etcdPort, etcdPeer, apiPort, regPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
    const etcd = start('etcd', bin('etcd'), [
      '--name', 'second', '--data-dir', path.join(dir, 'etcd'),
      '--listen-client-urls', `http://127.0.0.1:${etcdPort}`, '--advertise-client-urls', `http://127.0.0.1:${etcdPort}`,
      '--listen-peer-urls', `http://127.0.0.1:${etcdPeer}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${etcdPeer}`,
      '--initial-cluster', `second=http://127.0.0.1:${etcdPeer}`, '--unsafe-no-fsync', '--log-level', 'warn',
    ]);

    await copyFile(path.join(stackDir, 'registry-htpasswd'), path.join(dir, 'htpasswd'));
    await writeFile(path.join(dir, 'registry.yaml'), [
      'version: 0.1',
      'log: {level: warn, accesslog: {disabled: true}}',
      'storage:',
      `  filesystem: {rootdirectory: ${path.join(dir, 'registry')}}`,
      '  delete: {enabled: true}',
      '  maintenance: {uploadpurging: {enabled: false}}',
      'http:',
      `  addr: 127.0.0.1:${regPort}`,
      `  secret: second-cluster-${regPort}`,
      `  tls: {certificate: ${path.join(pki, 'server.crt')}, key: ${path.join(pki, 'server.key')}}`,
      'auth:',
      `  htpasswd: {realm: second-registry, path: ${path.join(dir, 'htpasswd')}}`,
      '',
    ].join('\n'));
    const registry = start('registry', bin('registry'), ['serve', path.join(dir, 'registry.yaml')], { OTEL_TRACES_EXPORTER: 'none' });

    await waitUntil('etcd', etcd.proc, etcd.log, async () => (await fetch(`http://127.0.0.1:${etcdPort}/health`)).ok, 60_000);
    const api = start('kube-apiserver', bin('kube-apiserver'), [
      '--etcd-servers', `http://127.0.0.1:${etcdPort}`, '--bind-address', '127.0.0.1', '--advertise-address', '127.0.0.1',
      '--secure-port', String(apiPort), '--cert-dir', path.join(dir, 'apiserver-certs'),
      '--tls-cert-file', path.join(pki, 'server.crt'), '--tls-private-key-file', path.join(pki, 'server.key'),
      '--client-ca-file', path.join(pki, 'ca.crt'),
      '--service-account-issuer', 'https://kubernetes.default.svc', '--service-account-key-file', path.join(pki, 'sa.pub'),
      '--service-account-signing-key-file', path.join(pki, 'sa.key'), '--service-cluster-ip-range', '10.0.0.0/24',
      '--authorization-mode', 'RBAC', '--disable-admission-plugins', 'ServiceAccount',
      '--enable-priority-and-fairness=false', '--storage-media-type', 'application/json',
    ]);
    const kubeconfig = path.join(dir, 'kubeconfig');
    await writeFile(kubeconfig, [
      'apiVersion: v1', 'kind: Config',
      'clusters:', '- name: second', `  cluster: {server: "https://127.0.0.1:${apiPort}", certificate-authority: "${path.join(pki, 'ca.crt')}"}`,
      'users:', '- name: admin', `  user: {client-certificate: "${path.join(pki, 'admin.crt')}", client-key: "${path.join(pki, 'admin.key')}"}`,
      'contexts:', '- name: second', '  context: {cluster: second, user: admin, namespace: default}',
      'current-context: second', '',
    ].join('\n'));

    const ca = await readFile(path.join(pki, 'ca.crt'));
    const auth = 'Basic ' + Buffer.from(`${env.REGISTRY_USER}:${env.REGISTRY_PASSWORD}`).toString('base64');
    await waitUntil('registry', registry.proc, registry.log,
      () => httpsOk(`https://127.0.0.1:${regPort}/v2/`, { ca, headers: { Authorization: auth } }), 60_000);
    const cert = await readFile(path.join(pki, 'admin.crt'));
    const key = await readFile(path.join(pki, 'admin.key'));
    await waitUntil('kube-apiserver', api.proc, api.log,
      () => httpsOk(`https://127.0.0.1:${apiPort}/readyz`, { ca, cert, key }), 120_000);

    const crds = [
      ...readdirSync(path.join(repoRoot, 'hack', 'crds')).filter((f) => f.endsWith('.yaml')).map((f) => path.join(repoRoot, 'hack', 'crds', f)),
      path.join(stackDir, 'velero-crds.yaml'), // Velero's own, written by hack/stack.sh up
      ...readdirSync(path.join(repoRoot, 'crds')).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml').map((f) => path.join(repoRoot, 'crds', f)),
    ];
    const files = crds.flatMap((f) => ['-f', f]);
    await run(bin('kubectl'), ['--kubeconfig', kubeconfig, 'apply', '--server-side', ...files]);
    await run(bin('kubectl'), ['--kubeconfig', kubeconfig, 'wait', '--for', 'condition=Established', '--timeout=60s', ...files]);

    return { kubeconfig, registry: `127.0.0.1:${regPort}`, dir, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
