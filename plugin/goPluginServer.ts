// The plugin side of hashicorp/go-plugin's gRPC protocol, which Velero speaks to its plugins,
// for a process that is not written in Go: check the magic cookie, serve gRPC on a Unix socket,
// print the handshake line on stdout, serve go-plugin's health, controller and stdio services
// beside the plugin's own, and exit when the host says Shutdown.
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  Server, ServerCredentials, status, type sendUnaryData, type ServerUnaryCall, type ServerWritableStream,
  type ServiceDefinition, type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import type { PluginLog } from './log.js';
import type { Protocol } from './protocol.js';

/** Velero's handshake (pkg/plugin/framework/handshake.go): its cookie and app protocol version. */
export const MAGIC_COOKIE_KEY = 'VELERO_PLUGIN';
export const MAGIC_COOKIE_VALUE = 'hello';
const CORE_PROTOCOL_VERSION = 1;
const APP_PROTOCOL_VERSION = 2;
/** The service name go-plugin's host checks with grpc.health.v1 before it dispenses anything. */
const HEALTH_SERVICE = 'plugin';
const MAX_MESSAGE_BYTES = 128 * 1024 * 1024;

export interface ServeOptions {
  protocol: Protocol;
  services: Array<[ServiceDefinition, UntypedServiceImplementation]>;
  log: PluginLog;
  env?: NodeJS.ProcessEnv;
}

/** Refuses to run outside a go-plugin host, as go-plugin's own servers do. */
export function checkMagicCookie(env: NodeJS.ProcessEnv): string | undefined {
  if (env[MAGIC_COOKIE_KEY] === MAGIC_COOKIE_VALUE) return undefined;
  return 'This binary is a plugin for Velero. It is not meant to be run directly: ' +
    'copy it into Velero\'s plugin folder (velero plugin add <image>), and Velero runs it.\n';
}

export async function serveGoPlugin(opts: ServeOptions): Promise<void> {
  const env = opts.env ?? process.env;
  const socket = path.join(env.PLUGIN_UNIX_SOCKET_DIR || tmpdir(), `plugin${randomBytes(6).toString('hex')}`);
  const server = new Server({ 'grpc.max_receive_message_length': MAX_MESSAGE_BYTES, 'grpc.max_send_message_length': MAX_MESSAGE_BYTES });
  const openStreams = new Set<ServerWritableStream<unknown, unknown>>();

  const removeSocket = () => rmSync(socket, { force: true });
  process.on('exit', removeSocket);
  let stopping = false;
  /** `why` is logged: an exit the host did not ask for is worth a line in Velero's log. */
  const stop = (why?: string) => {
    if (stopping) return;
    stopping = true;
    if (why) opts.log.info('plugin stopping', { reason: why });
    // Nobody connects any more: the socket file goes now, not only at the exit (go-plugin's host
    // kills a plugin that has not exited 2 s after Shutdown).
    removeSocket();
    for (const stream of openStreams) stream.end();
    // A call still running gets a moment to answer; the host has stopped waiting for it anyway.
    const force = setTimeout(() => { server.forceShutdown(); process.exit(0); }, 1_000);
    server.tryShutdown(() => { clearTimeout(force); process.exit(0); });
  };

  for (const [definition, implementation] of opts.services) server.addService(definition, implementation);
  server.addService(opts.protocol.health, {
    Check: (call: ServerUnaryCall<{ service: string }, unknown>, done: sendUnaryData<unknown>) => {
      if (call.request.service === '' || call.request.service === HEALTH_SERVICE) return done(null, { status: 'SERVING' });
      done({ code: status.NOT_FOUND, details: `unknown service ${call.request.service}` });
    },
  });
  server.addService(opts.protocol.controller, {
    Shutdown: (_call: ServerUnaryCall<unknown, unknown>, done: sendUnaryData<unknown>) => {
      done(null, {});
      setImmediate(() => stop());
    },
  });
  server.addService(opts.protocol.stdio, {
    // This process writes nothing to stdout after the handshake, and its stderr (the log) reaches
    // the host directly: the stream stays open and empty until shutdown.
    StreamStdio: (call: ServerWritableStream<unknown, unknown>) => {
      openStreams.add(call);
      call.on('cancelled', () => openStreams.delete(call));
    },
  });

  await new Promise<void>((resolve, reject) => {
    server.bindAsync(`unix:${socket}`, ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve()));
  });
  // The host waits for this one line on stdout: core protocol | app protocol | network | address | protocol.
  process.stdout.write(`${CORE_PROTOCOL_VERSION}|${APP_PROTOCOL_VERSION}|unix|${socket}|grpc\n`);

  // Like go-plugin's servers: Ctrl-C in the host's terminal reaches the whole process group,
  // and the host decides when its plugins stop.
  process.on('SIGINT', () => undefined);
  process.on('SIGTERM', () => stop('SIGTERM'));
  // A host that died without Shutdown would leave this process running forever.
  const parent = process.ppid;
  setInterval(() => { if (process.ppid !== parent) stop('the host process is gone'); }, 2_000).unref();
}
