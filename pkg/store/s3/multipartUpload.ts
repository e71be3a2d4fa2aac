// A streamed body in parts, each read into one of a few part buffers that are used again and
// again: memory is (parts in flight + 1) x part size, exactly, whatever the blob's size.
// lib-storage, which did this before, concatenates the stream's chunks into a new buffer per
// part and keeps the previous one alive through the remainder's slice; with a 4 GiB layer its
// buffers and the garbage they made were a third of the controller's peak memory (benchmark,
// --big-layer 4). Any failure (of the body, a part, the completion) aborts the upload, once
// every part request has settled, before the caller hears of it.
import type { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand, CompleteMultipartUploadCommand, CreateMultipartUploadCommand, UploadPartCommand,
  type CompletedPart, type PutObjectCommandInput, type S3Client, type UploadPartCommandOutput,
} from '@aws-sdk/client-s3';
import { BufferPool, type PartBuffers } from '../parts.js';

export interface MultipartOptions {
  partSize: number;
  /** Parts sent at once. */
  queueSize: number;
  /** The run's shared part buffers (PutOptions.partBuffers). */
  partBuffers?: PartBuffers;
  signal?: AbortSignal;
}

/** Uploads `body` under `params.Key`; returns the bytes stored. */
export async function uploadMultipart(client: S3Client, body: Readable, params: PutObjectCommandInput, opts: MultipartOptions): Promise<number> {
  const { Body: _none, ContentLength: _length, ...target } = params;
  const created = await client.send(new CreateMultipartUploadCommand(target), { abortSignal: opts.signal });
  const where = { Bucket: params.Bucket, Key: params.Key, UploadId: created.UploadId };
  // Part requests stop as soon as anything failed; the caller's signal stops them too.
  const stop = new AbortController();
  const onAbort = () => stop.abort(opts.signal?.reason);
  opts.signal?.addEventListener('abort', onAbort, { once: true });

  const pool = new BufferPool(opts.partSize, opts.queueSize + 1, opts.partBuffers);

  const parts: CompletedPart[] = [];
  const inFlight = new Set<Promise<void>>();
  let failure: unknown;
  const send = (buf: Buffer, length: number, partNumber: number) => {
    const sent = client.send(new UploadPartCommand({
      ...where, PartNumber: partNumber, Body: buf.subarray(0, length), ContentLength: length,
      ...(params.ChecksumAlgorithm && { ChecksumAlgorithm: params.ChecksumAlgorithm }),
    }), { abortSignal: stop.signal }).then(
      (out) => { parts.push(completedPart(partNumber, out)); },
      (err: unknown) => { failure ??= err; stop.abort(err); },
    ).finally(() => {
      inFlight.delete(sent);
      pool.release(buf);
    });
    inFlight.add(sent);
  };

  let total = 0;
  try {
    let partNumber = 1;
    let buf = await pool.take();
    let filled = 0;
    for await (const chunk of body as AsyncIterable<Buffer>) {
      let offset = 0;
      while (offset < chunk.length) {
        if (failure !== undefined) throw failure;
        const n = Math.min(chunk.length - offset, opts.partSize - filled);
        chunk.copy(buf, filled, offset, offset + n);
        filled += n;
        offset += n;
        if (filled === opts.partSize) {
          send(buf, filled, partNumber++);
          total += filled;
          buf = await pool.take();
          filled = 0;
        }
      }
    }
    if (filled > 0 || partNumber === 1) {
      send(buf, filled, partNumber++);
      total += filled;
    } else {
      pool.release(buf);
    }
    await Promise.all(inFlight);
    if (failure !== undefined) throw failure;
    parts.sort((a, b) => a.PartNumber! - b.PartNumber!);
    await client.send(new CompleteMultipartUploadCommand({ ...where, MultipartUpload: { Parts: parts } }), { abortSignal: opts.signal });
    return total;
  } catch (err) {
    // The first failure is the cause; the part requests it stops fail with AbortError after it.
    failure ??= err;
    stop.abort(failure);
    await Promise.allSettled(inFlight);
    // Best effort: an upload left behind only costs space until a lifecycle rule clears it.
    await client.send(new AbortMultipartUploadCommand(where)).catch(() => undefined);
    throw failure;
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
    // Every part request has settled by now: their buffers can serve the next upload.
    pool.close();
    body.destroy();
  }
}

function completedPart(partNumber: number, out: UploadPartCommandOutput): CompletedPart {
  return {
    PartNumber: partNumber,
    ETag: out.ETag,
    ...(out.ChecksumCRC32 && { ChecksumCRC32: out.ChecksumCRC32 }),
    ...(out.ChecksumCRC32C && { ChecksumCRC32C: out.ChecksumCRC32C }),
    ...(out.ChecksumCRC64NVME && { ChecksumCRC64NVME: out.ChecksumCRC64NVME }),
    ...(out.ChecksumSHA1 && { ChecksumSHA1: out.ChecksumSHA1 }),
    ...(out.ChecksumSHA256 && { ChecksumSHA256: out.ChecksumSHA256 }),
  };
}
