// Reads a config blob into memory, verified, refusing more than a bound: configs go in the
// bundle, which restore reads whole.
import type { Readable } from 'node:stream';
import type { Descriptor } from '../contracts.js';
import { StalledError } from '../errors.js';
import { verifyingStream } from '../oci/verifyingStream.js';

export const CONFIG_LIMIT = 16 * 1024 * 1024;

export async function readSmallBlob(source: Readable, desc: Pick<Descriptor, 'digest' | 'size'>, what: string, limit = CONFIG_LIMIT): Promise<Buffer> {
  if (desc.size > limit) {
    source.destroy();
    throw new StalledError('BlobTooLarge', `${what} ${desc.digest} is ${desc.size} bytes; at most ${limit} are supported`);
  }
  const verifier = verifyingStream(desc, what);
  source.on('error', (err) => verifier.destroy(err));
  source.pipe(verifier);
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of verifier as AsyncIterable<Buffer>) {
    total += chunk.length;
    // A lying server could send more than announced: stop before holding it.
    if (total > desc.size) {
      source.destroy();
      verifier.destroy();
      throw new StalledError('DigestMismatch', `${what} ${desc.digest} is larger than its announced ${desc.size} bytes`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, total);
}
