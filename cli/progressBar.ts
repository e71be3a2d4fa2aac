// A progress bar on stderr, drawn only when stderr is a terminal (a pipe or a log file gets the
// summary line alone), redrawn at most every 200 ms, and erased when done.
import { formatBytes } from '../controllers/runtime/format.js';

export interface ProgressBar {
  update(done: number, total: number, note?: string): void;
  done(): void;
}

const WIDTH = 30;

export function progressBar(stream: NodeJS.WritableStream, label: string): ProgressBar {
  const tty = (stream as NodeJS.WriteStream).isTTY === true;
  const started = Date.now();
  let last = 0;
  let drawn = false;
  return {
    update(done, total, note) {
      const now = Date.now();
      if (!tty || now - last < 200) return;
      last = now;
      const share = total > 0 ? Math.min(1, done / total) : 0;
      const filled = Math.round(share * WIDTH);
      const rate = Math.round(done / Math.max(0.001, (now - started) / 1000));
      const line = `${label} [${'#'.repeat(filled)}${'-'.repeat(WIDTH - filled)}] ${(share * 100).toFixed(0).padStart(3)}% `
        + `${formatBytes(done)} / ${formatBytes(total)} ${formatBytes(rate)}/s${note ? ` ${note}` : ''}`;
      stream.write(`\r${line.slice(0, ((stream as NodeJS.WriteStream).columns ?? 120) - 1)}\x1b[K`);
      drawn = true;
    },
    done() {
      if (drawn) stream.write('\r\x1b[K');
    },
  };
}
