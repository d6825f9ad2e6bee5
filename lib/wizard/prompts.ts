// The wizard's questions, each validated in the prompt (the error shows inline
// and the question stays). Separate from the flow so they can be tested with
// @inquirer/testing and swapped for replayed answers.
import { checkbox, confirm, input, select } from '@inquirer/prompts';
import { parseSanList, parseValidity } from '../ops/inputs.js';
import type { RestartMode } from '../ops/renewal/restart.js';
import type { Action } from '../ops/answers.js';

const output = { output: process.stderr };

/** A validator in inquirer's shape: true, or the message to show. */
export function validDuration(value: string): true | string {
  try {
    parseValidity(value, 'duration');
    return true;
  } catch (error) {
    return `${(error as Error).message} (e.g. 1y, 365d, 8760h)`;
  }
}

export function validSans(value: string): true | string {
  if (value.trim() === '') return true;
  try {
    parseSanList(value.split(','));
    return true;
  } catch (error) {
    return (error as Error).message.replace(/^hosts\[(\d+)\]/, (_, index: string) => `entry ${Number(index) + 1}`);
  }
}

export const validityQuestion = { message: 'Validity of the new certificates', default: '1y', validate: validDuration };
export const sansQuestion = { message: 'Extra SANs for server certificates (comma-separated, empty for none)', default: '', validate: validSans };

export interface Prompter {
  action(choices: { value: Action; name: string; disabled?: string | boolean }[]): Promise<Action>;
  names(choices: { value: string; name: string; checked: boolean }[]): Promise<string[]>;
  validity(): Promise<string>;
  newKey(): Promise<boolean>;
  restart(detected: RestartMode): Promise<RestartMode>;
  addSans(): Promise<string[]>;
  text(message: string, defaultValue?: string): Promise<string>;
  choose<T extends string>(message: string, choices: { value: T; name: string }[], defaultValue?: T): Promise<T>;
  proceed(message: string): Promise<boolean>;
}

export const interactivePrompter: Prompter = {
  // Every action on one page (inquirer shows 7 and scrolls silently otherwise); no wrap-around, so the ends are visible.
  action: (choices) => select({ message: 'What do you want to do?', choices, pageSize: choices.length, loop: false }, output),
  names: (choices) => checkbox({ message: 'Which certificates?', choices, required: true }, output),
  validity: () => input(validityQuestion, output),
  newKey: () =>
    select({ message: 'Keys', choices: [{ value: false, name: 'keep the existing keys (nothing that pins keys breaks)' }, { value: true, name: 'generate new keys' }] }, output),
  restart: (detected) =>
    select(
      {
        message: 'Restart the components afterwards?',
        default: detected,
        choices: [
          { value: 'static-pod' as const, name: 'static-pod (kubeadm: move each manifest out and back, watch with crictl)' },
          { value: 'crictl' as const, name: 'crictl (stop the containers; the kubelet restarts them)' },
          { value: 'docker' as const, name: 'docker (stop the containers)' },
          { value: 'systemd' as const, name: 'systemd (binary install: systemctl restart units)' },
          { value: 'none' as const, name: 'none (I will restart them myself)' },
        ],
      },
      output,
    ),
  addSans: async () => {
    const value = await input(sansQuestion, output);
    return value.trim() === '' ? [] : value.split(',').map((entry) => entry.trim());
  },
  text: (message, defaultValue) => input({ message, default: defaultValue, required: true }, output),
  choose: (message, choices, defaultValue) => select({ message, choices, default: defaultValue }, output),
  proceed: (message) => confirm({ message, default: false }, output),
};
