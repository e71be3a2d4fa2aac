import { Readable } from 'node:stream';
import { randomBytes } from 'node:crypto';
import { S3Client, UploadPartCommand } from '@aws-sdk/client-s3';
import { sendBodiesSliced } from './slicedBodies.js';
import { WRITE_SLICE } from '../../slicedWrite.js';

/** What the transport was handed, per attempt: the body's type and the bytes it streamed, in chunks. */
interface Attempt { stream: boolean; chunks: number[]; bytes: Buffer; crc?: string }

/** An S3 client whose transport records each body and fails the first attempt with a 503 (the SDK then tries again). */
function recordingClient() {
  const attempts: Attempt[] = [];
  const client = new S3Client({
    endpoint: 'https://s3.example', region: 'us-east-1', forcePathStyle: true,
    credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
    requestChecksumCalculation: 'WHEN_SUPPORTED',
    retryMode: 'standard', maxAttempts: 2,
    requestHandler: {
      handle: async (request: { body: unknown; headers: Record<string, string> }) => {
        const chunks: Buffer[] = [];
        if (request.body instanceof Readable) for await (const c of request.body as AsyncIterable<Buffer>) chunks.push(c);
        else chunks.push(Buffer.from(request.body as Uint8Array));
        attempts.push({ stream: request.body instanceof Readable, chunks: chunks.map((c) => c.length), bytes: Buffer.concat(chunks), crc: request.headers['x-amz-checksum-crc32'] });
        const status = attempts.length === 1 ? 503 : 200;
        return { response: { statusCode: status, headers: {}, body: Readable.from([]) } };
      },
    } as never,
  });
  sendBodiesSliced(client);
  return { client, attempts };
}

describe('sendBodiesSliced', () => {
  test('hands the transport a part as slices of at most WRITE_SLICE, the whole part again on a retry, checksummed as the buffer', async () => {
    const part = randomBytes(3 * WRITE_SLICE + 1000);
    const { client, attempts } = recordingClient();
    await client.send(new UploadPartCommand({ Bucket: 'b', Key: 'k', UploadId: 'u', PartNumber: 1, Body: part, ContentLength: part.length }));
    expect(attempts).toHaveLength(2);
    for (const a of attempts) {
      expect(a.stream).toBe(true);
      expect(a.bytes.equals(part)).toBe(true);
      expect(Math.max(...a.chunks)).toBeLessThanOrEqual(WRITE_SLICE);
      expect(a.crc).toMatch(/^[A-Za-z0-9+/]+=*$/);
    }
    client.destroy();
  });

  test('leaves a small body as it is', async () => {
    const { client, attempts } = recordingClient();
    await client.send(new UploadPartCommand({ Bucket: 'b', Key: 'k', UploadId: 'u', PartNumber: 1, Body: Buffer.from('small') }));
    expect(attempts[0]!.stream).toBe(false);
    client.destroy();
  });
});
