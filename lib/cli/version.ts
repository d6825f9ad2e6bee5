// The tool's version, from package.json (or RESCUE_KIT_VERSION in the bundle).
import { readFileSync } from 'node:fs';

export function version(): string {
  if (process.env.RESCUE_KIT_VERSION) return process.env.RESCUE_KIT_VERSION;
  try {
    const url = new URL('../../../package.json', import.meta.url);
    return (JSON.parse(readFileSync(url, 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}
