// Is a `ca rotate` half done? Between --phase start and --phase finish the old CA
// pair waits as pki/ca.old.{crt,key} and ca.crt is a two-CA bundle: a state that
// must not be forgotten for months (the old, distrusted key stays trusted).
import type { Host } from '../../host/host.js';
import { PKI_DIR } from './discover.js';

export const OLD_CA_CERTIFICATE = `${PKI_DIR}/ca.old.crt`;

export interface CaRotationState {
  inProgress: boolean;
  /** When the start phase wrote ca.old.crt (its mtime), ISO; null when no rotation is in progress. */
  since: string | null;
}

export function caRotationState(host: Host): CaRotationState {
  const stats = host.lstat(OLD_CA_CERTIFICATE);
  return stats ? { inProgress: true, since: stats.mtime.toISOString() } : { inProgress: false, since: null };
}
