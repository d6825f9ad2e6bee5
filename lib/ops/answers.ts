// Wizard answers and where they come from. Every answer has a flag; a flag
// beats an environment variable, which beats the --answers file; whatever is
// still missing is asked at the prompt (or, with nobody to ask, is an error).
import { RescueError } from '../errors.js';
import { readText } from '../host/fs.js';
import { parseJson, validateShape } from '../config/json.js';
import { RESTART_MODES, RestartMode } from './renewal/restart.js';

export const ACTIONS = ['backup', 'renew-expiring', 'renew-chosen', 'issue', 'ca-renew', 'ca-rotate', 'webhook', 'vcluster-reset', 'cert-manager-doctor', 'rollback'] as const;
export type Action = (typeof ACTIONS)[number];

export interface Answers {
  action?: Action;
  /** renew-chosen: kubeadm names. */
  names?: string[];
  validity?: string;
  newKey?: boolean;
  restart?: RestartMode;
  addSans?: string[];
  /** issue: CSR template, profile, output prefix, template variables. */
  template?: string;
  profile?: string;
  out?: string;
  vars?: Record<string, string>;
  /** Skip the final "apply?" question. */
  confirm?: boolean;
  /** etcd runs but cannot be snapshotted: copy its live data dir anyway (the policy is in ops/archive/etcd-capture.ts). */
  allowLiveCopy?: boolean;
}

const answersSchema = {
  type: 'object',
  properties: {
    action: { enum: [...ACTIONS] },
    names: { type: 'array', items: { type: 'string' } },
    validity: { type: 'string' },
    newKey: { type: 'boolean' },
    restart: { enum: [...RESTART_MODES] },
    addSans: { type: 'array', items: { type: 'string' } },
    template: { type: 'string' },
    profile: { type: 'string' },
    out: { type: 'string' },
    vars: { type: 'object', additionalProperties: { type: 'string' } },
    confirm: { type: 'boolean' },
    allowLiveCopy: { type: 'boolean' },
  },
  additionalProperties: false,
} as const;

export function loadAnswersFile(path: string): Answers {
  const text = readText(path, 'answers file');
  try {
    return validateShape<Answers>(parseJson(text, 'the answers file'), answersSchema, 'the answers file', `fields: ${Object.keys(answersSchema.properties).join(', ')}`);
  } catch (error) {
    throw error instanceof RescueError ? error.inFile(path) : error;
  }
}

/** RESCUE_KIT_ACTION, RESCUE_KIT_VALIDITY, RESCUE_KIT_RESTART, RESCUE_KIT_NEW_KEY=1, RESCUE_KIT_NAMES=a,b, RESCUE_KIT_YES=1, RESCUE_KIT_ALLOW_LIVE_COPY=1 */
export function answersFromEnv(env: NodeJS.ProcessEnv): Answers {
  const answers: Answers = {};
  if (env.RESCUE_KIT_ACTION) {
    if (!(ACTIONS as readonly string[]).includes(env.RESCUE_KIT_ACTION)) throw new RescueError('USAGE', `RESCUE_KIT_ACTION="${env.RESCUE_KIT_ACTION}" is not one of ${ACTIONS.join(', ')}`);
    answers.action = env.RESCUE_KIT_ACTION as Action;
  }
  if (env.RESCUE_KIT_VALIDITY) answers.validity = env.RESCUE_KIT_VALIDITY;
  if (env.RESCUE_KIT_RESTART) {
    if (!(RESTART_MODES as readonly string[]).includes(env.RESCUE_KIT_RESTART)) throw new RescueError('USAGE', `RESCUE_KIT_RESTART="${env.RESCUE_KIT_RESTART}" is not one of ${RESTART_MODES.join(', ')}`);
    answers.restart = env.RESCUE_KIT_RESTART as RestartMode;
  }
  if (env.RESCUE_KIT_NEW_KEY) answers.newKey = env.RESCUE_KIT_NEW_KEY === '1' || env.RESCUE_KIT_NEW_KEY === 'true';
  if (env.RESCUE_KIT_NAMES) answers.names = env.RESCUE_KIT_NAMES.split(',').map((name) => name.trim()).filter(Boolean);
  if (env.RESCUE_KIT_ALLOW_LIVE_COPY) answers.allowLiveCopy = env.RESCUE_KIT_ALLOW_LIVE_COPY === '1' || env.RESCUE_KIT_ALLOW_LIVE_COPY === 'true';
  if (env.RESCUE_KIT_YES) answers.confirm = env.RESCUE_KIT_YES === '1' || env.RESCUE_KIT_YES === 'true';
  return answers;
}

/** Later sources win: file < env < flags. Undefined never overrides. */
export function mergeAnswers(...sources: Answers[]): Answers {
  const merged: Answers = {};
  for (const source of sources) {
    for (const [key, value] of Object.entries(source)) if (value !== undefined) (merged as Record<string, unknown>)[key] = value;
  }
  return merged;
}
