// Runs the plugin executable as Velero's go-plugin host does, to test it without a Velero server:
// the magic cookie and PLUGIN_* variables in its environment, Velero's server flags as
// arguments, the handshake line read from its stdout, then gRPC over the Unix socket it names.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { credentials, makeGenericClientConstructor, type Client, type ServiceDefinition } from '@grpc/grpc-js';
import { compileDescriptorSet, loadProtocol, type OperationProgress, type PluginIdentifier } from '../plugin/protocol.js';
import { repoRoot } from './stackEnv.js';

const protocol = loadProtocol(compileDescriptorSet(path.join(repoRoot, 'plugin', 'proto')));

/** What Velero passes its plugins: the server's own flags (all ignored by this plugin). */
export const VELERO_SERVER_FLAGS = ['--log-level', 'info', '--namespace', 'velero', '--plugin-dir', '/plugins', '--item-block-worker-count', '4'];

type Unary<Req, Res> = (req: Req) => Promise<Res>;

export interface PluginProcess {
  readonly child: ChildProcess;
  readonly handshake: string;
  readonly socket: string;
  /** Milliseconds from spawn to the handshake line. */
  readonly startMs: number;
  stderr(): string;
  health(service: string): Promise<string>;
  listPlugins(): Promise<PluginIdentifier[]>;
  appliesTo(): Promise<string[]>;
  execute(item: unknown, backup: unknown): Promise<{ item: Buffer; operationID: string }>;
  /** Execute with the item's bytes as given, to compare what comes back. */
  executeRaw(item: Buffer, backup: unknown): Promise<{ item: Buffer; operationID: string }>;
  progress(operationID: string, backup?: unknown): Promise<OperationProgress>;
  cancel(operationID: string, backup?: unknown): Promise<void>;
  /** go-plugin's Kill: Shutdown, then the exit code. */
  shutdown(): Promise<number | null>;
  /** SIGTERM, for the end of a test: the plugin stops and removes its socket. */
  kill(): void;
}

export async function startPlugin(binary: string, env: Record<string, string>, extraEnv: Record<string, string> = {}): Promise<PluginProcess> {
  const t0 = performance.now();
  const child = spawn(binary, VELERO_SERVER_FLAGS, {
    env: { PATH: process.env.PATH ?? '', VELERO_PLUGIN: 'hello', PLUGIN_PROTOCOL_VERSIONS: '2', PLUGIN_MIN_PORT: '10000', PLUGIN_MAX_PORT: '25000', ...env, ...extraEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const handshake = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const nl = out.indexOf('\n');
      if (nl >= 0) resolve(out.slice(0, nl));
    });
    void exited.then((code) => reject(new Error(`plugin exited (${code}) before its handshake:\n${err}`)));
  });
  const startMs = performance.now() - t0;
  const socket = handshake.split('|')[3] ?? '';
  const address = `unix:${socket}`;
  const client = (def: ServiceDefinition): Client => new (makeGenericClientConstructor(def as never, 'plugin'))(address, credentials.createInsecure());
  const bia = client(protocol.backupItemAction);
  const call = <Req, Res>(c: Client, method: string): Unary<Req, Res> => (req: Req) => new Promise<Res>((resolve, reject) => {
    (c as unknown as Record<string, (r: Req, cb: (e: Error | null, res: Res) => void) => void>)[method]!(req, (e, res) => (e ? reject(e) : resolve(res)));
  });
  const json = (v: unknown) => Buffer.from(JSON.stringify(v));
  const clients = [bia];
  const closeAll = () => clients.forEach((c) => c.close());
  const health = client(protocol.health);
  const lister = client(protocol.pluginLister);
  const controller = client(protocol.controller);
  clients.push(health, lister, controller);

  return {
    child,
    handshake,
    socket,
    startMs,
    stderr: () => err,
    health: async (service) => (await call<unknown, { status: string }>(health, 'Check')({ service })).status,
    listPlugins: async () => (await call<unknown, { plugins: PluginIdentifier[] }>(lister, 'ListPlugins')({})).plugins,
    appliesTo: async () => (await call<unknown, { ResourceSelector: { includedResources: string[] } }>(bia, 'AppliesTo')({ plugin: 'oadp.openshift.io/imagestream-backup' })).ResourceSelector.includedResources,
    execute: (item, backup) => call<unknown, { item: Buffer; operationID: string }>(bia, 'Execute')({ plugin: 'p', item: json(item), backup: json(backup) }),
    executeRaw: (item, backup) => call<unknown, { item: Buffer; operationID: string }>(bia, 'Execute')({ plugin: 'p', item, backup: json(backup) }),
    progress: async (operationID, backup = {}) =>
      (await call<unknown, { progress: OperationProgress }>(bia, 'Progress')({ plugin: 'p', operationID, backup: json(backup) })).progress,
    cancel: async (operationID, backup = {}) => { await call(bia, 'Cancel')({ plugin: 'p', operationID, backup: json(backup) }); },
    shutdown: async () => {
      await call(controller, 'Shutdown')({});
      closeAll();
      return exited;
    },
    kill: () => {
      closeAll();
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    },
  };
}
