// The one sha256 fingerprint of bytes (hex): file contents in plans, journals and
// backups, audit lines in the hash chain, certificates in the rotation state.
import { createHash } from 'node:crypto';

export const sha256Hex = (data: Buffer | string): string => createHash('sha256').update(data).digest('hex');
