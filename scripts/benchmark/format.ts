// How numbers are shown, and progress lines on stderr.
export const fmtMs = (ms: number) => (ms >= 10_000 ? `${(ms / 1000).toFixed(2)} s` : ms >= 100 ? `${ms.toFixed(0)} ms` : `${ms.toFixed(1)} ms`);
export const fmtRatio = (ratio: number) => `${ratio < 0.1 ? ratio.toFixed(3) : ratio.toFixed(2)}x`;
/** Bytes in MiB, written "MB" throughout the bench. */
export const fmtMb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
/** Throughput in MiB/s, written "MB/s". */
export const fmtRate = (bytes: number, ms: number) => `${(bytes / 1024 / 1024 / (ms / 1000)).toFixed(1)} MB/s`;
export const pad = (text: string, width: number) => text.padEnd(width);
export const lpad = (text: string, width: number) => text.padStart(width);

export function progress(text: string): void {
  process.stderr.write(`bench: ${text}\n`);
}
