// sha256 digests, the only algorithm the product stores blobs under.
import { createHash } from 'node:crypto';
import { StalledError } from '../errors.js';

const DIGEST = /^sha256:[a-f0-9]{64}$/;

export interface ParsedDigest {
  algorithm: 'sha256';
  hex: string;
}

export function isDigest(value: unknown): value is string {
  return typeof value === 'string' && DIGEST.test(value);
}

/** Splits `sha256:<hex>`; anything else (other algorithms, upper case, short hex) is refused. */
export function parseDigest(value: string): ParsedDigest {
  if (!isDigest(value)) {
    throw new StalledError('InvalidDigest', `invalid digest ${JSON.stringify(truncate(value))}: expected sha256:<64 lowercase hex>`);
  }
  return { algorithm: 'sha256', hex: value.slice('sha256:'.length) };
}

export function sha256Digest(data: Buffer | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

function truncate(value: string): string {
  return value.length > 100 ? `${value.slice(0, 100)}...` : value;
}
