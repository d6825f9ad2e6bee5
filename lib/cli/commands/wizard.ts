// `rescue-kit wizard` (and `rescue-kit` alone on a terminal): the interactive
// rescue. Flags and --answers replay a session unattended.
import { RescueError } from '../../errors.js';
import { createHost } from '../../host/host.js';
import { parseDuration } from '../../pki/validity.js';
import { Action, Answers, answersFromEnv, loadAnswersFile, mergeAnswers } from '../../ops/answers.js';
import { runWizard } from '../../wizard/flow.js';
import { interactivePrompter } from '../../wizard/prompts.js';
import type { RestartMode } from '../../ops/renewal/restart.js';
import { defaultCaConfigPath, templatesDir } from '../paths.js';
import { say } from '../output.js';
import { version } from '../version.js';

export interface WizardCommandOptions {
  root: string;
  answers?: string;
  action?: Action;
  names?: string;
  validity?: string;
  newKey?: boolean;
  restart?: RestartMode;
  addSan?: string[];
  yes?: boolean;
  allowLiveCopy?: boolean;
  timeout: string;
}

/** A person is there to answer: stdin and stdout are terminals and this is not CI. */
export function interactive(): boolean {
  return Boolean(process.stdin.isTTY && process.stdout.isTTY && !process.env.CI);
}

export async function wizard(options: WizardCommandOptions): Promise<void> {
  const flags: Answers = {
    action: options.action,
    names: options.names?.split(',').map((name) => name.trim()).filter(Boolean),
    validity: options.validity,
    newKey: options.newKey,
    restart: options.restart,
    addSans: options.addSan,
    confirm: options.yes,
    allowLiveCopy: options.allowLiveCopy,
  };
  const answers = mergeAnswers(options.answers ? loadAnswersFile(options.answers) : {}, answersFromEnv(process.env), flags);
  try {
    await runWizard({
      host: createHost({ root: options.root }),
      answers,
      prompter: interactive() ? interactivePrompter : undefined,
      version: version(),
      timeoutMs: parseDuration(options.timeout, '--timeout'),
      templatesDir: templatesDir(),
      caConfigPath: defaultCaConfigPath(),
      say,
    });
  } catch (error) {
    // Ctrl+C at a prompt: nothing has been changed at any prompt, by construction.
    if ((error as Error).name === 'ExitPromptError') throw new RescueError('INTERRUPTED', 'interrupted at a prompt; nothing was changed');
    throw error;
  }
}
