// Progress of long CLI work on stderr: one line rewritten in place with "\r",
// at most a few times a second, and only when stderr is a terminal — a log
// file or a pipe gets no progress lines at all (the summary line says enough).
import { formatBytes } from '../render/bytes.js';

export interface ByteProgress {
  update(bytes: number, expectedBytes: number): void;
  /** Leave the last state on its own line (only if anything was shown); call it before printing anything else. */
  end(): void;
}

const THROTTLE_MS = 200;

export function byteProgress(label: string, stream: NodeJS.WriteStream = process.stderr, clock: () => number = Date.now): ByteProgress {
  if (!stream.isTTY) return { update() {}, end() {} };
  const started = clock();
  let lastShown = 0;
  let shown = false;
  let latest: [number, number] = [0, 0];
  const render = () => {
    const [bytes, expected] = latest;
    const seconds = Math.max((clock() - started) / 1000, 0.001);
    const percent = expected > 0 ? ` (${Math.min(100, Math.floor((bytes / expected) * 100))}%)` : '';
    let line = `${label}: ${formatBytes(bytes)} of ${formatBytes(expected)}${percent}, ${formatBytes(bytes / seconds)}/s`;
    // One terminal row: "\r" only returns to the start of the last wrapped row.
    const width = (stream.columns || 80) - 1;
    if (line.length > width) line = line.slice(0, width);
    stream.write(`\r${line}\u001b[K`);
    shown = true;
  };
  return {
    update(bytes, expectedBytes) {
      latest = [bytes, expectedBytes];
      const now = clock();
      if (now - lastShown < THROTTLE_MS) return;
      lastShown = now;
      render();
    },
    end() {
      if (!shown) return;
      render();
      stream.write('\n');
      shown = false;
    },
  };
}
