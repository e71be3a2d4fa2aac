// The wire format of the plugin's own .proto files against Velero's and go-plugin's: the bytes
// below are written from their field numbers (Velero v1.18 pkg/plugin/proto, go-plugin v1.7),
// not from this project's files, so a wrong number or type here fails.
import path from 'node:path';
import type { MethodDefinition } from '@grpc/grpc-js';
import { compileDescriptorSet, loadProtocol } from './protocol.js';

const protocol = loadProtocol(compileDescriptorSet(path.join(import.meta.dirname, 'proto')));
const method = (service: keyof typeof protocol, name: string) => protocol[service][name] as MethodDefinition<object, object>;
const str = (field: number, s: string) => [(field << 3) | 2, Buffer.byteLength(s), ...Buffer.from(s)];

test('service paths and streaming are those of Velero and go-plugin', () => {
  expect(method('backupItemAction', 'Execute').path).toBe('/v2.BackupItemAction/Execute');
  expect(['AppliesTo', 'Progress', 'Cancel'].map((m) => method('backupItemAction', m).path))
    .toEqual(['/v2.BackupItemAction/AppliesTo', '/v2.BackupItemAction/Progress', '/v2.BackupItemAction/Cancel']);
  expect(method('pluginLister', 'ListPlugins').path).toBe('/generated.PluginLister/ListPlugins');
  expect(method('controller', 'Shutdown').path).toBe('/plugin.GRPCController/Shutdown');
  expect(method('stdio', 'StreamStdio')).toMatchObject({ path: '/plugin.GRPCStdio/StreamStdio', requestStream: false, responseStream: true });
  expect(method('health', 'Check').path).toBe('/grpc.health.v1.Health/Check');
});

test('ExecuteRequest in, ExecuteResponse out', () => {
  const wire = Buffer.from([...str(1, 'p'), ...str(2, '{"a":1}'), ...str(3, '{}')]);
  const req = method('backupItemAction', 'Execute').requestDeserialize(wire) as { plugin: string; item: Buffer; backup: Buffer };
  expect([req.plugin, req.item.toString(), req.backup.toString()]).toEqual(['p', '{"a":1}', '{}']);
  const res = method('backupItemAction', 'Execute').responseSerialize({ item: Buffer.from('{}'), operationID: 'velero/b' });
  expect(res).toEqual(Buffer.from([...str(1, '{}'), ...str(3, 'velero/b')]));
});

test('Progress and Cancel requests carry the operation ID in field 2', () => {
  const wire = Buffer.from([...str(1, 'p'), ...str(2, 'velero/b'), ...str(3, '{}')]);
  for (const m of ['Progress', 'Cancel']) {
    expect(method('backupItemAction', m).requestDeserialize(wire)).toMatchObject({ operationID: 'velero/b' });
  }
});

test('OperationProgress, field by field', () => {
  const res = method('backupItemAction', 'Progress').responseSerialize({ progress: {
    completed: true, err: 'e', nCompleted: 5, nTotal: 300, operationUnits: 'bytes', description: 'd',
    started: { seconds: 1 }, updated: { seconds: 2 },
  } });
  const inner = [0x08, 1, ...str(2, 'e'), 0x18, 5, 0x20, 0xac, 0x02, ...str(5, 'bytes'), ...str(6, 'd'), 0x3a, 2, 0x08, 1, 0x42, 2, 0x08, 2];
  expect(res).toEqual(Buffer.from([0x0a, inner.length, ...inner]));
});

test('AppliesTo, ListPlugins and the health check', () => {
  expect(method('backupItemAction', 'AppliesTo').responseSerialize({ ResourceSelector: { includedResources: ['x'] } }))
    .toEqual(Buffer.from([0x0a, 3, ...str(3, 'x')]));
  const plugin = [...str(1, '/c'), ...str(2, 'k'), ...str(3, 'n')];
  expect(method('pluginLister', 'ListPlugins').responseSerialize({ plugins: [{ command: '/c', kind: 'k', name: 'n' }] }))
    .toEqual(Buffer.from([0x0a, plugin.length, ...plugin]));
  expect(method('health', 'Check').requestDeserialize(Buffer.from(str(1, 'plugin')))).toEqual({ service: 'plugin' });
  expect(method('health', 'Check').responseSerialize({ status: 'SERVING' })).toEqual(Buffer.from([0x08, 1]));
});
