// Where rescue-kit's own conf/ and templates/ live: $RESCUE_KIT_HOME (set by
// rescue-kit.sh and the bundle), else the package root above build/.
import { fileURLToPath } from 'node:url';
import { dirname, join, resolve } from 'node:path';

export function kitHome(): string {
  if (process.env.RESCUE_KIT_HOME) return resolve(process.env.RESCUE_KIT_HOME);
  return resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
}

export const defaultCaConfigPath = () => join(kitHome(), 'conf', 'ca-config.json');
export const templatesDir = () => join(kitHome(), 'templates');
