// A renewal Plan as text: what changes, file by file, and the restart order.
import type { RenewPlan } from '../ops/renewal/renew-plan.js';
import { bold, table } from './text.js';

export function renderPlan(plan: RenewPlan): string {
  const rows = plan.items.map((item) => [item.name, item.ca, item.keyAction, notAfterText(item.before.notAfter, true), notAfterText(item.after.notAfter, true), item.differences.length ? item.differences.join('; ') : 'same subject/SANs/usages']);
  const lines = [bold('Plan'), table(['CERTIFICATE', 'CA', 'KEY', 'NOT AFTER (NOW)', 'NOT AFTER (NEW)', 'IDENTITY'], rows), ''];
  const notes = plan.items.flatMap((item) => item.notes.map((note) => `  ${item.name}: ${note}`));
  if (notes.length) lines.push('Kept as the old certificates say (kubeadm today would differ):', ...notes, '');
  lines.push('Files:', ...plan.changes.map((change) => `  ${change.kind === 'symlink' ? 'link  ' : change.kind === 'delete' ? 'delete' : 'write '} ${change.hostPath}${change.kind === 'symlink' ? ` -> ${change.target}` : change.kind === 'delete' ? '' : ` (${change.mode.toString(8).padStart(4, '0')})`}  ${change.reason}`), '');
  lines.push(`Restart order: ${plan.restart.length ? plan.restart.join(' -> ') : '(nothing)'}`);
  for (const warning of plan.warnings) lines.push(`warning: ${warning}`);
  lines.push(...notRenewedLines(plan));
  return `${lines.join('\n')}\n`;
}

/**
 * A NOT AFTER cell: a key pair (the sa key, null) has no expiry and says so; '' is a certificate that is not
 * there yet. `short`: minutes, for the plan's narrow table.
 */
export function notAfterText(notAfter: string | null, short = false): string {
  if (notAfter === null) return 'no expiry (key pair)';
  if (!notAfter) return '(missing)';
  return short ? notAfter.slice(0, 16).replace('T', ' ') : notAfter;
}

/** Last, so it is what the operator reads: what --all will leave expired, why, and what to do. */
function notRenewedLines(plan: RenewPlan): string[] {
  const missed = plan.notRenewed ?? [];
  if (!missed.length) return [];
  const lines = ['', bold(`NOT renewed (${missed.length}): the run ends with exit 3 until these are fixed`)];
  for (const entry of missed) {
    lines.push(`  ${entry.name}: ${entry.file ? `${entry.file}: ` : ''}${entry.reason}`);
    if (entry.hint) lines.push(`    hint: ${entry.hint}`);
  }
  return lines;
}
