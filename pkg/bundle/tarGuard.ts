// A bundle read from object storage is untrusted: anyone who may write the bucket may plant
// one. tar-stream reads a PAX extended header (or a GNU long name) into memory whole before
// anything else can look at it, so a planted 2 GiB header would exhaust the controller's
// memory. This pass-through walks the raw tar headers first, in 512-byte blocks, and fails the
// stream before the parser buffers anything too large: extension headers over a small limit
// (other tools write small ones; imported archives stay readable), entry types that are not
// files or directories (links, devices, fifos), and more raw bytes than the bundle may have.
import { Transform, type TransformCallback } from 'node:stream';
import { StalledError } from '../errors.js';

export interface TarGuardLimits {
  /** Raw bytes of the whole archive. */
  totalBytes: number;
  /** Size of one PAX ('x', 'g') or GNU long name/link ('L', 'K') extension entry. */
  extensionBytes: number;
  /** Size of one regular entry. */
  entryBytes: number;
}

export const DEFAULT_TAR_GUARD: TarGuardLimits = { totalBytes: 1024 * 1024 * 1024, extensionBytes: 64 * 1024, entryBytes: 64 * 1024 * 1024 };

const FILE_TYPES = new Set(['0', '\0', '7']);
const DIRECTORY = '5';
const EXTENSIONS = new Set(['x', 'g', 'L', 'K']);

export interface TarGuard extends Transform {
  /** The raw offset of the data of each regular entry so far, in archive order. */
  readonly dataOffsets: number[];
}

/** Fails with StalledError 'InvalidBundle' (`what` names the bundle) at the first header that breaks a limit. */
export function tarGuard(what: string, limits: TarGuardLimits = DEFAULT_TAR_GUARD): TarGuard {
  const dataOffsets: number[] = [];
  let total = 0;
  // Bytes of entry data (padded to 512) to pass before the next header.
  let skip = 0;
  let header = Buffer.alloc(0);
  let ended = false;
  const fail = (why: string) => new StalledError('InvalidBundle', `${what} is not a valid imagestream-backup bundle: ${why}`);
  const guard = new Transform({
    transform(chunk: Buffer, _enc, cb: TransformCallback) {
      const base = total;
      total += chunk.length;
      if (total > limits.totalBytes) return cb(fail(`it is larger than ${limits.totalBytes} bytes`));
      let at = 0;
      while (at < chunk.length && !ended) {
        if (skip > 0) {
          const n = Math.min(skip, chunk.length - at);
          skip -= n;
          at += n;
          continue;
        }
        const need = 512 - header.length;
        header = Buffer.concat([header, chunk.subarray(at, at + need)]);
        at += Math.min(need, chunk.length - at);
        if (header.length < 512) break;
        const block = header;
        header = Buffer.alloc(0);
        // Two zero blocks end the archive; whatever follows is not read by anyone.
        if (block.every((b) => b === 0)) {
          ended = true;
          break;
        }
        const type = String.fromCharCode(block[156]!);
        const size = parseSize(block.subarray(124, 136));
        if (size === undefined) return cb(fail('a tar header has an unreadable size'));
        if (EXTENSIONS.has(type)) {
          if (size > limits.extensionBytes) return cb(fail(`an extension header ('${type}') of ${size} bytes is over the ${limits.extensionBytes} bytes allowed`));
        } else if (FILE_TYPES.has(type)) {
          if (size > limits.entryBytes) return cb(fail(`an entry of ${size} bytes is over the ${limits.entryBytes} bytes allowed`));
          dataOffsets.push(base + at);
        } else if (type !== DIRECTORY) {
          return cb(fail(`an entry is of tar type '${type === '\0' ? '\\0' : type}' (a ${kind(type)}): only files and directories may be in a bundle`));
        }
        skip = Math.ceil(size / 512) * 512;
      }
      cb(null, chunk);
    },
  });
  return Object.assign(guard, { dataOffsets });
}

function kind(type: string): string {
  return type === '1' ? 'hard link' : type === '2' ? 'symbolic link' : type === '3' ? 'character device' : type === '4' ? 'block device' : type === '6' ? 'fifo' : 'type unknown here';
}

/** The size field: octal text, or base-256 (the high bit set) for sizes over 8 GiB; undefined when it is neither. */
export function parseSize(field: Buffer): number | undefined {
  if (field[0]! & 0x80) {
    let n = field[0]! & 0x7f;
    for (let i = 1; i < field.length; i++) n = n * 256 + field[i]!;
    return Number.isSafeInteger(n) ? n : undefined;
  }
  const text = field.toString('latin1').replace(/\0.*$/s, '').trim();
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) return undefined;
  return parseInt(text, 8);
}
