// Optional backup encryption: AES-256-GCM, key from the passphrase with scrypt
// (native crypto). Backups hold every private key of the cluster.
// Format: MAGIC | salt(16) | iv(12) | ciphertext | tag(16).
import { createCipheriv, createDecipheriv, DecipherGCM, randomBytes, scryptSync } from 'node:crypto';
import { Transform, TransformCallback } from 'node:stream';
import { RescueError } from '../../errors.js';

export const ENCRYPTION_MAGIC = Buffer.from('RESCUE-KIT-AES256GCM-1\n');
const SALT = 16;
const IV = 12;
const TAG = 16;
const SCRYPT = { N: 1 << 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };

function deriveKey(passphrase: string, salt: Buffer): Buffer {
  return scryptSync(passphrase, salt, 32, SCRYPT);
}

/** Only a new backup is held to the length rule: a short passphrase given to decrypt is simply wrong. */
function assertStrongEnough(passphrase: string): void {
  if (passphrase.length < 8) {
    throw new RescueError('USAGE', 'the backup passphrase must be at least 8 characters', { hint: 'use a longer passphrase (store it apart from the backup)' });
  }
}

/** Transform: plaintext in, MAGIC|salt|iv|ciphertext|tag out. */
export function encryptStream(passphrase: string): Transform {
  assertStrongEnough(passphrase);
  const salt = randomBytes(SALT);
  const iv = randomBytes(IV);
  const cipher = createCipheriv('aes-256-gcm', deriveKey(passphrase, salt), iv);
  let started = false;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      if (!started) {
        this.push(Buffer.concat([ENCRYPTION_MAGIC, salt, iv]));
        started = true;
      }
      callback(null, cipher.update(chunk));
    },
    flush(callback: TransformCallback) {
      if (!started) this.push(Buffer.concat([ENCRYPTION_MAGIC, salt, iv]));
      this.push(cipher.final());
      callback(null, cipher.getAuthTag());
    },
  });
}

/**
 * Transform: encrypted file in, plaintext out. The tag is only known at the end, so plaintext
 * flows before authentication: callers must read the whole archive (verify) before acting on it.
 */
export function decryptStream(passphrase: string, file: string): Transform {
  let header = Buffer.alloc(0);
  let decipher: DecipherGCM | undefined;
  let tail = Buffer.alloc(0);
  const headerLength = ENCRYPTION_MAGIC.length + SALT + IV;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      try {
        if (!decipher) {
          header = Buffer.concat([header, chunk]);
          if (header.length < headerLength) return callback();
          const salt = header.subarray(ENCRYPTION_MAGIC.length, ENCRYPTION_MAGIC.length + SALT);
          const iv = header.subarray(ENCRYPTION_MAGIC.length + SALT, headerLength);
          decipher = createDecipheriv('aes-256-gcm', deriveKey(passphrase, salt), iv);
          chunk = header.subarray(headerLength);
        }
        // Hold back the last 16 bytes: they may be the tag.
        const data = Buffer.concat([tail, chunk]);
        tail = data.subarray(Math.max(0, data.length - TAG));
        callback(null, decipher.update(data.subarray(0, Math.max(0, data.length - TAG))));
      } catch (error) {
        callback(error as Error);
      }
    },
    flush(callback: TransformCallback) {
      try {
        if (!decipher || tail.length !== TAG) throw new Error('truncated');
        decipher.setAuthTag(tail);
        callback(null, decipher.final());
      } catch {
        callback(
          new RescueError('INVALID_ARCHIVE', 'the backup cannot be decrypted: wrong passphrase, or the file was changed or truncated', {
            file,
            hint: 'check the passphrase; compare the file with its copy (sha256sum)',
          }),
        );
      }
    },
  });
}

export function isEncrypted(firstBytes: Buffer): boolean {
  return firstBytes.subarray(0, ENCRYPTION_MAGIC.length).equals(ENCRYPTION_MAGIC);
}
