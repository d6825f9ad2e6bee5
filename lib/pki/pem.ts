// PEM framing: split text into labelled DER blocks and back, with errors that
// say what is wrong (a truncated copy-paste is the usual culprit at 3 a.m.).
import { RescueError } from '../errors.js';

export interface PemBlock {
  label: string;
  der: Buffer;
}

const BEGIN = /-----BEGIN ([A-Z0-9 ]+)-----/g;

export function decodePem(text: string): PemBlock[] {
  const blocks: PemBlock[] = [];
  for (const begin of text.matchAll(BEGIN)) {
    const label = begin[1]!;
    const bodyStart = begin.index! + begin[0].length;
    const endMarker = `-----END ${label}-----`;
    const endIndex = text.indexOf(endMarker, bodyStart);
    const nextBegin = text.indexOf('-----BEGIN ', bodyStart);
    if (endIndex < 0 || (nextBegin >= 0 && nextBegin < endIndex)) {
      throw new RescueError('INVALID_PEM', `PEM block "${label}" has no END line (the file is truncated)`, {
        hint: 'copy the file again from its source or restore it from a backup',
      });
    }
    const body = text.slice(bodyStart, endIndex).replace(/^[A-Za-z-]+:.*$/gm, '');
    const base64 = body.replace(/\s+/g, '');
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(base64) || base64.length % 4 !== 0) {
      throw new RescueError('INVALID_PEM', `PEM block "${label}" is not valid base64 (damaged or truncated)`, {
        hint: 'copy the file again from its source or restore it from a backup',
      });
    }
    blocks.push({ label, der: Buffer.from(base64, 'base64') });
  }
  return blocks;
}

export function encodePem(label: string, der: Buffer): string {
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

/** All blocks with one of the labels; an error naming what was expected when there are none. */
export function pemBlocksOf(text: string, labels: readonly string[], what: string): PemBlock[] {
  const blocks = decodePem(text).filter((block) => labels.includes(block.label));
  if (blocks.length === 0) {
    throw new RescueError('INVALID_PEM', `no ${what} found (expected a PEM block "${labels[0]}")`, {
      hint: `check that this is the ${what} file and that it is PEM (text starting with -----BEGIN)`,
    });
  }
  return blocks;
}
