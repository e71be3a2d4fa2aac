// Counts and words for the status: the data path counts the images it was given, the status
// counts the refused ones too.
import type { Progress } from '../../pkg/contracts.js';

export function initialProgress(total: number, failed: number): Progress {
  return {
    images: { total, done: 0, failed },
    blobs: { total: 0, done: 0, skipped: 0 },
    bytes: { total: 0, done: 0, skipped: 0 },
  };
}

/** The data path's progress, with `invalid` refused images added to the failures; `total` counts both. */
export function withInvalid(p: Progress, invalid: number, total: number): Progress {
  return {
    images: { total, done: p.images.done, failed: p.images.failed + invalid },
    blobs: { ...p.blobs },
    bytes: { ...p.bytes },
    ...(p.referrers !== undefined && { referrers: p.referrers }),
  };
}
