// `rescue-kit webhook`: renew an admission webhook's serving cert and caBundle
// (seed 000); the work is ops/seeds/webhook-run.ts, shared with the wizard.
import { createHost } from '../../host/host.js';
import { renewWebhook, WebhookOptions } from '../../ops/seeds/webhook-run.js';
import { say, warn } from '../output.js';

export type { WebhookOptions };

export async function webhook(options: WebhookOptions): Promise<void> {
  await renewWebhook(createHost(), options, { say, warn });
}
