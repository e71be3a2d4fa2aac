// Where each file of a tar archive on disk is, read from its headers alone: an import seeks to
// the blobs it needs instead of reading the archive front to back, so a multi-GB archive is
// listed in a few reads per entry, and nothing of it is held in memory. Reads POSIX ustar,
// PAX (long names, large sizes) and GNU long-name headers, as Go's archive/tar (oras, skopeo)
// and tar-stream write them. The archive is untrusted: every header is checked (checksum,
// sizes within the file, bounded extension headers), links and devices are refused.
import type { FileHandle } from 'node:fs/promises';
import { StalledError } from '../errors.js';
import { DEFAULT_TAR_GUARD, parseSize } from '../bundle/tarGuard.js';

export interface TarEntry {
  name: string;
  /** Where the file's bytes start in the archive, and how many. */
  offset: number;
  size: number;
}

const BLOCK = 512;
/** A PAX or GNU long-name header is a few hundred bytes in practice. */
const MAX_EXTENSION = DEFAULT_TAR_GUARD.extensionBytes;
const MAX_ENTRIES = 10_000_000;

export async function indexTar(file: FileHandle, what: string): Promise<Map<string, TarEntry>> {
  const { size: total } = await file.stat();
  const entries = new Map<string, TarEntry>();
  const header = Buffer.alloc(BLOCK);
  let at = 0;
  let longName: string | undefined;
  let paxPath: string | undefined;
  let paxSize: number | undefined;
  for (;;) {
    if (at + BLOCK > total) throw invalid(what, 'it ends in the middle of a header (truncated?)');
    await readFully(file, header, at);
    at += BLOCK;
    if (header.every((b) => b === 0)) return entries; // end of archive (a second zero block may follow)
    if (checksum(header) !== octal(header, 148, 8)) throw invalid(what, `the header at byte ${at - BLOCK} has a wrong checksum: it is not a tar archive, or it is damaged`);
    const type = String.fromCharCode(header[156]!) || '0';
    const size = paxSize ?? parseSize(header.subarray(124, 136));
    if (size === undefined) throw invalid(what, `the header at byte ${at - BLOCK} has a size that is not a number`);
    if (at + size > total) throw invalid(what, `an entry at byte ${at - BLOCK} claims ${size} bytes past the end of the file`);
    const dataAt = at;
    at += Math.ceil(size / BLOCK) * BLOCK;
    if (type === 'x' || type === 'L' || type === 'g') {
      if (size > MAX_EXTENSION) throw invalid(what, `an extension header of ${size} bytes is larger than the ${MAX_EXTENSION} allowed`);
      const data = Buffer.alloc(size);
      await readFully(file, data, dataAt);
      if (type === 'L') longName = data.toString('utf8').replace(/\0+$/, '');
      if (type === 'x') ({ path: paxPath, size: paxSize } = parsePax(data, what));
      continue; // 'g' (global) says nothing this reader needs
    }
    const name = normalise(longName ?? paxPath ?? ustarName(header));
    longName = paxPath = paxSize = undefined;
    if (type === '5') continue;
    if (type !== '0' && type !== '\0' && type !== '7') throw invalid(what, `entry ${JSON.stringify(name.slice(0, 200))} is not a regular file (type ${JSON.stringify(type)})`);
    if (entries.has(name)) throw invalid(what, `entry ${JSON.stringify(name.slice(0, 200))} appears twice`);
    if (entries.size >= MAX_ENTRIES) throw invalid(what, `it has more than ${MAX_ENTRIES} entries`);
    entries.set(name, { name, offset: dataAt, size });
  }
}

/** Reads `length` bytes at `offset`, all of them. */
export async function readRange(file: FileHandle, offset: number, length: number): Promise<Buffer> {
  const out = Buffer.alloc(length);
  await readFully(file, out, offset);
  return out;
}

async function readFully(file: FileHandle, into: Buffer, position: number): Promise<void> {
  let got = 0;
  while (got < into.length) {
    const { bytesRead } = await file.read(into, got, into.length - got, position + got);
    if (bytesRead === 0) throw new StalledError('InvalidArchive', `the archive ended early (at byte ${position + got})`);
    got += bytesRead;
  }
}

function ustarName(h: Buffer): string {
  const name = cString(h, 0, 100);
  const isUstar = h.toString('latin1', 257, 262) === 'ustar';
  const prefix = isUstar ? cString(h, 345, 155) : '';
  return prefix ? `${prefix}/${name}` : name;
}

/** `./blobs/sha256/x` and `blobs/sha256/x` are the same file. */
function normalise(name: string): string {
  return name.replace(/^(\.\/)+/, '');
}

function cString(h: Buffer, at: number, len: number): string {
  const end = h.indexOf(0, at);
  return h.toString('utf8', at, end < 0 || end > at + len ? at + len : end);
}

function octal(h: Buffer, at: number, len: number): number {
  const text = h.toString('latin1', at, at + len).replace(/[\0 ]+$/, '').trim();
  return text === '' ? 0 : parseInt(text, 8);
}


function checksum(h: Buffer): number {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : h[i]!;
  return sum;
}

/** `<len> <key>=<value>\n` records; only path and size matter here. */
function parsePax(data: Buffer, what: string): { path?: string; size?: number } {
  const out: { path?: string; size?: number } = {};
  let at = 0;
  while (at < data.length) {
    const space = data.indexOf(0x20, at);
    const len = space < 0 ? NaN : Number(data.toString('latin1', at, space));
    if (!Number.isSafeInteger(len) || len <= 0 || at + len > data.length) throw invalid(what, 'a PAX header is malformed');
    const record = data.toString('utf8', space + 1, at + len - 1);
    const eq = record.indexOf('=');
    const key = record.slice(0, eq);
    const value = record.slice(eq + 1);
    if (key === 'path') out.path = value;
    if (key === 'size') {
      const n = Number(value);
      if (!Number.isSafeInteger(n) || n < 0) throw invalid(what, `a PAX header has size ${JSON.stringify(value.slice(0, 40))}`);
      out.size = n;
    }
    at += len;
  }
  return out;
}

function invalid(what: string, why: string): StalledError {
  return new StalledError('InvalidArchive', `${what} is not a readable OCI image layout archive: ${why}`);
}
