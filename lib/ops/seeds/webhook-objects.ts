// Which objects a webhook rescue (seed 000) touches besides the Secret: the
// Validating/MutatingWebhookConfigurations the operator named (KubeSphere ships
// one of each, under different names), and the workloads that mount the Secret
// and must be restarted to load it. Pure: names and objects in, names out.
import { RescueError } from '../../errors.js';
import type { K8sObject } from './webhook.js';

export const CONFIGURATION_KINDS = { validating: 'ValidatingWebhookConfiguration', mutating: 'MutatingWebhookConfiguration' } as const;
export type ConfigurationKind = keyof typeof CONFIGURATION_KINDS;

export interface ConfigurationRef {
  kind: ConfigurationKind;
  name: string;
}

export interface ConfigurationChoice {
  /** One name for every kind in `kind` (the historical form). */
  webhookConfig?: string;
  kind?: ConfigurationKind | 'both';
  validatingConfig?: string;
  mutatingConfig?: string;
}

const FORMS = 'give --webhook-config NAME [--kind validating|mutating|both], or --validating-config NAME and/or --mutating-config NAME';

/** The configurations to patch, from either form of the flags; a mix that could mean two things is a usage error. */
export function configurationsToPatch(choice: ConfigurationChoice): ConfigurationRef[] {
  const named: ConfigurationRef[] = [];
  if (choice.validatingConfig) named.push({ kind: 'validating', name: choice.validatingConfig });
  if (choice.mutatingConfig) named.push({ kind: 'mutating', name: choice.mutatingConfig });
  if (named.length) {
    if (choice.webhookConfig) throw new RescueError('USAGE', '--webhook-config and --validating-config/--mutating-config both name configurations', { hint: FORMS });
    const kinds = named.map((entry) => entry.kind);
    const wanted = choice.kind === undefined ? kinds : choice.kind === 'both' ? ['validating', 'mutating'] : [choice.kind];
    if (wanted.join() !== kinds.join()) {
      throw new RescueError('USAGE', `--kind ${choice.kind} does not match the configurations named (${named.map((entry) => `--${entry.kind}-config`).join(', ')})`, {
        hint: '--kind both needs --validating-config and --mutating-config; or leave --kind out',
      });
    }
    return named;
  }
  if (!choice.webhookConfig) throw new RescueError('USAGE', 'no webhook configuration named', { hint: FORMS });
  const kind = choice.kind ?? 'validating';
  return (kind === 'both' ? (['validating', 'mutating'] as const) : [kind]).map((entry) => ({ kind: entry, name: choice.webhookConfig! }));
}

const WORKLOAD_KINDS = ['Deployment', 'StatefulSet', 'DaemonSet'];

interface PodVolume {
  secret?: { secretName?: string };
  projected?: { sources?: { secret?: { name?: string } }[] };
}

function mountsSecret(workload: K8sObject, secretName: string): boolean {
  const volumes = ((workload.spec as { template?: { spec?: { volumes?: PodVolume[] } } } | undefined)?.template?.spec?.volumes ?? []);
  return volumes.some((volume) => volume.secret?.secretName === secretName || (volume.projected?.sources ?? []).some((source) => source.secret?.name === secretName));
}

/**
 * `kind/name` of every Deployment, StatefulSet and DaemonSet in NS whose pods mount the Secret
 * (a secret volume, or a projected one): what `kubectl rollout restart` must name. A pod can only
 * mount a Secret of its own namespace; objects without a namespace (plain exports) are taken as NS.
 */
export function workloadsMountingSecret(objects: K8sObject[], namespace: string, secretName: string): string[] {
  const found = objects.filter((object) => WORKLOAD_KINDS.includes(object.kind ?? '') && (object.metadata?.namespace ?? namespace) === namespace && mountsSecret(object, secretName));
  return [...new Set(found.map((object) => `${object.kind!.toLowerCase()}/${object.metadata?.name}`))];
}
