// Reads a config blob into memory, verified, refusing more than a bound: configs go in the
// bundle, which restore reads whole.
import type { Readable } from 'node:stream';
import type { Descriptor } from '../contracts.js';
import { StalledError } from '../errors.js';
import { readVerified } from '../oci/verifyingStream.js';

export const CONFIG_LIMIT = 16 * 1024 * 1024;

export async function readSmallBlob(source: Readable, desc: Pick<Descriptor, 'digest' | 'size'>, what: string, limit = CONFIG_LIMIT): Promise<Buffer> {
  if (desc.size > limit) {
    source.destroy();
    throw new StalledError('BlobTooLarge', `${what} ${desc.digest} is ${desc.size} bytes; at most ${limit} are supported`);
  }
  return readVerified(source, desc, what);
}
