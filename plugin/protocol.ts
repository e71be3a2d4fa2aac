// Velero's plugin protocol as grpc-js service definitions, from this project's own .proto files
// (plugin/proto/). The build compiles them into a FileDescriptorSet that is embedded in the
// executable, so that the plugin reads no file at run time (a single-executable application has
// none to read).
import type { ServiceDefinition } from '@grpc/grpc-js';
import { loadFileDescriptorSetFromBuffer, loadSync, type Options, type PackageDefinition } from '@grpc/proto-loader';

export const PROTO_FILES = ['velero.proto', 'backupitemaction.proto', 'goplugin.proto', 'health.proto'];

// keepCase: field names as Velero spells them (operationID, nCompleted). int64 as number: byte
// counts stay far below 2^53.
const OPTIONS: Options = { keepCase: true, longs: Number, enums: String, defaults: true };

/** The .proto files as one encoded FileDescriptorSet (what the build embeds). */
export function compileDescriptorSet(protoDir: string): Buffer {
  const definition = loadSync(PROTO_FILES, { ...OPTIONS, includeDirs: [protoDir] });
  const files = new Map<string, Buffer>();
  for (const entry of Object.values(definition)) {
    // Messages and enums carry the descriptors of every file they depend on; services do not.
    if (!('fileDescriptorProtos' in entry)) continue;
    for (const file of entry.fileDescriptorProtos as Buffer[]) files.set(file.toString('base64'), file);
  }
  // FileDescriptorSet { repeated FileDescriptorProto file = 1; }: each file is a length-delimited field 1.
  const parts: Buffer[] = [];
  for (const file of files.values()) parts.push(Buffer.from([0x0a, ...varint(file.length)]), file);
  return Buffer.concat(parts);
}

function varint(n: number): number[] {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return out;
}

export interface Protocol {
  pluginLister: ServiceDefinition;
  backupItemAction: ServiceDefinition;
  controller: ServiceDefinition;
  stdio: ServiceDefinition;
  health: ServiceDefinition;
}

export function loadProtocol(descriptorSet: Buffer): Protocol {
  const definition: PackageDefinition = loadFileDescriptorSetFromBuffer(descriptorSet, OPTIONS);
  const service = (name: string): ServiceDefinition => {
    const found = definition[name];
    if (!found || 'format' in found) throw new Error(`plugin protocol: no service ${name} in the embedded descriptors`);
    return found as unknown as ServiceDefinition;
  };
  return {
    pluginLister: service('generated.PluginLister'),
    backupItemAction: service('v2.BackupItemAction'),
    controller: service('plugin.GRPCController'),
    stdio: service('plugin.GRPCStdio'),
    health: service('grpc.health.v1.Health'),
  };
}

// The messages, as the loader options above decode and encode them.

export interface PluginIdentifier {
  command: string;
  kind: string;
  name: string;
}

export interface ExecuteRequest {
  plugin: string;
  item: Buffer;
  backup: Buffer;
}

export interface ExecuteResponse {
  item: Buffer;
  operationID: string;
}

export interface OperationRequest {
  plugin: string;
  operationID: string;
  backup: Buffer;
}

export interface Timestamp {
  seconds: number;
  nanos: number;
}

export interface OperationProgress {
  completed: boolean;
  err: string;
  nCompleted: number;
  nTotal: number;
  operationUnits: string;
  description: string;
  started?: Timestamp;
  updated?: Timestamp;
}

export const timestamp = (ms: number): Timestamp => ({ seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1e6 });
