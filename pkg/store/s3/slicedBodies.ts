// Buffered bodies (parts, bundles) reach the socket in slices: the SDK's handler ends a buffer
// in one write, which a TLS socket encrypts whole into memory first (see ../../slicedWrite.ts).
// The swap happens last, after checksums and signing saw the buffer, and on a copy of the
// request, so a retry starts again from the buffer, not from a stream already read.
import type { S3Client } from '@aws-sdk/client-s3';
import { sliced, WRITE_SLICE } from '../../slicedWrite.js';

type Middleware = Parameters<S3Client['middlewareStack']['add']>[0];

export function sendBodiesSliced(client: S3Client): void {
  const slicing = (next: (args: unknown) => Promise<unknown>) => async (args: unknown) => {
    const request = (args as { request?: { body?: unknown } }).request;
    const body = request?.body;
    if (body instanceof Uint8Array && body.byteLength > WRITE_SLICE) {
      const copy = Object.assign(Object.create(Object.getPrototypeOf(request) as object) as object, request, { body: sliced(body) });
      return next({ ...(args as object), request: copy });
    }
    return next(args);
  };
  client.middlewareStack.add(slicing as unknown as Middleware, { step: 'deserialize', priority: 'low', name: 'imagestreamBackupSlicedBodies' });
}
