// Ask before changing anything — unless --yes; refuse when nobody can answer.
import { RescueError } from '../../errors.js';

export async function confirmOrAbort(yes: boolean | undefined, question: string): Promise<void> {
  if (yes) return;
  if (!process.stdin.isTTY || !process.stderr.isTTY || process.env.CI) {
    throw new RescueError('USAGE', 'this changes files and there is no terminal to confirm on', { hint: 'review with --dry-run, then pass --yes' });
  }
  const { confirm } = await import('@inquirer/prompts');
  const answer = await confirm({ message: question, default: false }, { output: process.stderr });
  if (!answer) throw new RescueError('ABORTED', 'stopped at your request; nothing was changed');
}
