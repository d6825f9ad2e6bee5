// What `renew --all` could not renew, and why: each expected certificate it
// cannot renew is listed in the plan and named in the error the run ends with
// (exit 3), so a run never exits 0 while a certificate stays expired.
import { RescueError } from '../../errors.js';
import type { RenewPlan } from './renew-plan.js';

export interface NotRenewed {
  name: string;
  /** The file the problem is in (the cert, its key, its CA key, the kubeconfig), when one is known. */
  file: string | null;
  reason: string;
  hint: string | null;
}

/** The entry for the error a named renewal would have thrown; its reason without the file and name it is listed under. */
export function notRenewedFrom(name: string, error: RescueError): NotRenewed {
  let reason = error.file && error.message.startsWith(`${error.file}: `) ? error.message.slice(error.file.length + 2) : error.message;
  if (reason.startsWith(`${name}: `)) reason = reason.slice(name.length + 2);
  return { name, file: error.file ?? null, reason, hint: error.hint ?? null };
}

/** The error a run with not-renewed certificates ends with (after renewing the rest): each one by name and why. */
export function notAllRenewedError(plan: RenewPlan): RescueError {
  const missed = plan.notRenewed ?? [];
  const list = missed.map((entry) => `${entry.name} (${entry.file ? `${entry.file}: ` : ''}${entry.reason})`).join('; ');
  return new RescueError('NOT_ALL_RENEWED', `${missed.length} certificate${missed.length === 1 ? '' : 's'} NOT renewed: ${list}`, {
    hint: `fix each as its hint in the plan says, then renew those: rescue-kit renew ${missed.map((entry) => entry.name).join(' ')}`,
  });
}
