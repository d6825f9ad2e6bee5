// Backup passphrases: from a file (automation) or a hidden prompt (a person at a terminal).
import { RescueError } from '../../errors.js';
import { readText } from '../../host/fs.js';

export async function readPassphrase(options: { passphraseFile?: string }, confirm: boolean): Promise<string> {
  if (options.passphraseFile) return readText(options.passphraseFile, 'passphrase file').replace(/\r?\n$/, '');
  if (!process.stdin.isTTY || !process.stderr.isTTY) {
    throw new RescueError('USAGE', 'a passphrase is needed and there is no terminal to ask on', { hint: 'pass --passphrase-file FILE' });
  }
  const { password } = await import('@inquirer/prompts');
  const first = await password({ message: 'Backup passphrase', mask: '*' }, { output: process.stderr });
  if (confirm) {
    const second = await password({ message: 'Repeat the passphrase', mask: '*' }, { output: process.stderr });
    if (first !== second) throw new RescueError('USAGE', 'the passphrases differ', { hint: 'run the command again' });
  }
  return first;
}
