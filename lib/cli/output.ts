// stdout is data, stderr is talk. Colours only on a TTY and never with NO_COLOR.
export { bold, green, red, table, useColour, yellow } from '../render/text.js';
import { yellow } from '../render/text.js';

export function say(message: string): void {
  process.stderr.write(`${message}\n`);
}

export function warn(message: string): void {
  process.stderr.write(`${yellow('warning:')} ${message}\n`);
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}
