// Plain-text presentation shared by the CLI and the wizard: columns and colour
// (only on a TTY, never with NO_COLOR).
export function useColour(stream: NodeJS.WriteStream): boolean {
  return Boolean(stream.isTTY) && process.env.NO_COLOR === undefined && process.env.TERM !== 'dumb';
}

const paint = (code: string) => (text: string, stream: NodeJS.WriteStream = process.stderr) =>
  useColour(stream) ? `\u001b[${code}m${text}\u001b[0m` : text;
export const red = paint('31');
export const yellow = paint('33');
export const green = paint('32');
export const bold = paint('1');

/** Left-aligned columns, like kubeadm's check-expiration table. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (cells: string[]) => cells.map((cell, column) => cell.padEnd(widths[column]!)).join('   ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}
