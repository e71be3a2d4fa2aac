// SSE-C, as velero-plugin-for-aws's `customerKeyEncryptionFile`: every object is encrypted by
// the store with a key the client sends with each write and read of it. The key is read from
// the file the BSL names (a Secret mounted into the pod), 32 bytes exactly, only for trusted
// (admin) locations: a path in a BSL must not turn any file of the pod into a header sent to an
// endpoint its author chose. The headers go on object requests only, over HTTPS only.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { invalidLocation } from '../storeError.js';

const OBJECT_COMMANDS = new Set([
  'PutObjectCommand', 'GetObjectCommand', 'HeadObjectCommand', 'CreateMultipartUploadCommand', 'UploadPartCommand',
]);


export function readCustomerKey(file: string, trusted: boolean): Buffer {
  if (!trusted) {
    throw invalidLocation('InvalidBackupLocation', 'config.customerKeyEncryptionFile (SSE-C) reads a file of the controller\'s pod: only objects in an admin namespace may use it');
  }
  if (!path.isAbsolute(file)) throw invalidLocation('InvalidBackupLocation', 'config.customerKeyEncryptionFile must be an absolute path');
  let key: Buffer;
  try {
    key = readFileSync(file);
  } catch (err) {
    throw invalidLocation('InvalidBackupLocation', `config.customerKeyEncryptionFile ${JSON.stringify(file)} cannot be read in the controller's pod `
      + `(${(err as NodeJS.ErrnoException).code ?? 'error'}): mount the key's Secret there too`);
  }
  if (key.length !== 32) throw invalidLocation('InvalidBackupLocation', `config.customerKeyEncryptionFile must hold a 32-byte key, not ${key.length} bytes`);
  return key;
}

export function sendCustomerKey(client: S3Client, key: Buffer): void {
  const headers = {
    'x-amz-server-side-encryption-customer-algorithm': 'AES256',
    'x-amz-server-side-encryption-customer-key': key.toString('base64'),
    'x-amz-server-side-encryption-customer-key-md5': createHash('md5').update(key).digest('base64'),
  };
  const add = (next: (args: unknown) => Promise<unknown>, context: { commandName?: string }) => async (args: unknown) => {
    const request = (args as { request?: { protocol?: string; headers: Record<string, string> } }).request;
    if (request?.headers && OBJECT_COMMANDS.has(context.commandName ?? '')) {
      if (request.protocol !== 'https:') throw invalidLocation('InvalidBackupLocation', 'SSE-C (customerKeyEncryptionFile) needs an https:// endpoint');
      Object.assign(request.headers, headers);
    }
    return next(args);
  };
  client.middlewareStack.addRelativeTo(add as unknown as Parameters<S3Client['middlewareStack']['addRelativeTo']>[0], { name: 'imagestreamBackupCustomerKey', relation: 'before', toMiddleware: 'httpSigningMiddleware' });
}
