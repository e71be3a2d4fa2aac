import { PutObjectCommand, S3Client, UploadPartCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import { sendUploadsUnsigned } from './unsignedPayload.js';

/** An S3 client whose transport records each request's headers and answers 200. */
function recordingClient(endpoint: string) {
  const seen: Array<Record<string, string>> = [];
  const client = new S3Client({
    endpoint, region: 'us-east-1', forcePathStyle: true,
    credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    requestHandler: {
      handle: async (request: { headers: Record<string, string> }) => {
        seen.push({ ...request.headers });
        return { response: { statusCode: 200, headers: {}, body: undefined } };
      },
    } as never,
  });
  sendUploadsUnsigned(client);
  return { client, seen };
}

const body = Buffer.from('layer bytes');

describe('sendUploadsUnsigned', () => {
  test.each([
    ['a PutObject over https', 'https://s3.example', new PutObjectCommand({ Bucket: 'b', Key: 'k', Body: body }), 'UNSIGNED-PAYLOAD'],
    ['an UploadPart over https', 'https://s3.example', new UploadPartCommand({ Bucket: 'b', Key: 'k', UploadId: 'u', PartNumber: 1, Body: body }), 'UNSIGNED-PAYLOAD'],
    ['a PutObject over plain http (signed: nothing else protects the bytes)', 'http://s3.example', new PutObjectCommand({ Bucket: 'b', Key: 'k', Body: body }), 'hash'],
    ['a request that is not an upload', 'https://s3.example', new HeadObjectCommand({ Bucket: 'b', Key: 'k' }), 'hash'],
  ])('%s', async (_name, endpoint, command, expected) => {
    const { client, seen } = recordingClient(endpoint);
    await client.send(command as never).catch(() => undefined);
    const headers = seen[0]!;
    expect(headers.authorization).toMatch(/^AWS4-HMAC-SHA256 /);
    if (expected === 'hash') expect(headers['x-amz-content-sha256']).toMatch(/^[0-9a-f]{64}$/);
    else expect(headers['x-amz-content-sha256']).toBe(expected);
    client.destroy();
  });
});
