// The audit chain head a backup manifest recorded, as a ChainHead for verify.
import { readArchive } from '../archive/archive-reader.js';
import type { ChainHead } from './verify.js';

/** undefined when the backup was taken with no audit log (or by a version that did not record the head). */
export async function backupChainHead(file: string, passphrase?: string): Promise<(ChainHead & { createdAt: string }) | undefined> {
  const { manifest } = await readArchive(file, { passphrase });
  if (!manifest.audit) return undefined;
  return { lines: manifest.audit.lines, lastSha256: manifest.audit.lastSha256, source: `the backup ${file} (made ${manifest.createdAt})`, createdAt: manifest.createdAt };
}
