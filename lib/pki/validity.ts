// Durations ("8760h", "365d", "10y", "1h30m") and validity windows. `now` is
// always passed in: nothing in pki/ reads the clock.
import { RescueError } from '../errors.js';

const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  'µs': 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 7 * 86_400_000,
  // A year is 365 days, as kubeadm counts its 1-year leaves and 10-year CAs.
  y: 365 * 86_400_000,
};
const PART = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h|d|w|y)/gy;

/** Parse a duration to milliseconds. Go syntax plus d/w/y; zero and negative are refused. */
/** The longest validity accepted (1000 years). */
export const MAX_DURATION_MS = 1000 * 365 * 24 * 3600 * 1000;

export function parseDuration(text: string, what = 'duration'): number {
  const trimmed = text.trim();
  const hint = `write it like "8760h", "365d" or "1y" (Go-style h/m/s, plus d, w, y)`;
  if (trimmed.startsWith('-')) {
    throw new RescueError('INVALID_DURATION', `${what} "${text}" is negative`, { hint });
  }
  const body = trimmed.replace(/^\+/, '');
  let total = 0;
  let consumed = 0;
  PART.lastIndex = 0;
  for (let match = PART.exec(body); match; match = PART.exec(body)) {
    total += Number(match[1]) * UNIT_MS[match[2]!]!;
    consumed = PART.lastIndex;
  }
  if (body === '' || consumed !== body.length) {
    throw new RescueError('INVALID_DURATION', `${what} "${text}" is not a duration`, { hint });
  }
  // Round first: "1ns" would otherwise pass as positive and become a zero-length validity.
  const rounded = Math.round(total);
  if (rounded <= 0) throw new RescueError('INVALID_DURATION', `${what} "${text}" is zero (or below a millisecond)`, { hint });
  // X.509 times end at 9999-12-31 and JavaScript dates at year 275760: anything past a thousand years is a typo.
  if (!Number.isFinite(rounded) || rounded > MAX_DURATION_MS) throw new RescueError('INVALID_DURATION', `${what} "${text}" is longer than 1000 years`, { hint: `a CA usually lasts 10y and a leaf 1y; ${hint}` });
  return rounded;
}

/** Render milliseconds the way an operator reads residual time: "364d", "9y", "3h", "<invalid>" when past. */
export function formatResidual(ms: number): string {
  if (ms <= 0) return '<invalid>';
  const days = Math.floor(ms / UNIT_MS.d!);
  if (days >= 365) return `${Math.floor(days / 365)}y`;
  if (days >= 1) return `${days}d`;
  const hours = Math.floor(ms / UNIT_MS.h!);
  if (hours >= 1) return `${hours}h`;
  return `${Math.max(1, Math.floor(ms / UNIT_MS.m!))}m`;
}

/** kubeadm (1.31+) backdates not-before by 5 minutes so small clock skew does not reject new certs. */
export const CLOCK_SKEW_BACKDATE_MS = 5 * 60_000;

export interface ValidityRequest {
  now: Date;
  durationMs: number;
  /** The signing CA's validity; absent for self-signed. */
  issuerNotBefore?: Date;
  issuerNotAfter?: Date;
  /** What to do when the leaf would outlive its CA: cap it (with a warning) or refuse. */
  beyondIssuer?: 'cap' | 'refuse';
  backdateMs?: number;
}

export interface Validity {
  notBefore: Date;
  notAfter: Date;
  warnings: string[];
}

export function computeValidity(request: ValidityRequest): Validity {
  const { now, durationMs, issuerNotBefore, issuerNotAfter } = request;
  const warnings: string[] = [];
  if (!(durationMs > 0)) throw new RescueError('INVALID_DURATION', 'validity must be positive', { hint: 'use e.g. 8760h or 1y' });
  let notBefore = new Date(now.getTime() - (request.backdateMs ?? CLOCK_SKEW_BACKDATE_MS));
  let notAfter = new Date(now.getTime() + durationMs);
  if (Number.isNaN(notAfter.getTime()) || notAfter.getUTCFullYear() > 9999) {
    throw new RescueError('INVALID_DURATION', `a validity of ${durationMs} ms ends after the year 9999, which X.509 cannot express`, { hint: 'use e.g. 8760h, 1y or 10y' });
  }
  if (issuerNotAfter && issuerNotAfter.getTime() <= now.getTime()) {
    throw new RescueError('CA_EXPIRED', `the CA expired on ${issuerNotAfter.toISOString()}: anything it signs is rejected`, {
      hint: 'renew the CA with its existing key first (rescue-kit ca renew), so existing leaves keep verifying',
    });
  }
  if (issuerNotBefore && issuerNotBefore.getTime() > now.getTime()) {
    throw new RescueError('CA_EXPIRED', `the CA is not valid until ${issuerNotBefore.toISOString()}`, {
      hint: 'check the system clock (date -u) on this host',
    });
  }
  if (issuerNotBefore && notBefore < issuerNotBefore) notBefore = new Date(issuerNotBefore);
  if (issuerNotAfter && notAfter > issuerNotAfter) {
    if (request.beyondIssuer === 'refuse') {
      throw new RescueError('CA_TOO_SHORT', `the CA expires on ${issuerNotAfter.toISOString()}, before the requested not-after ${notAfter.toISOString()}`, {
        hint: 'ask for a shorter validity, or renew the CA first (rescue-kit ca renew)',
      });
    }
    warnings.push(`validity capped to the CA's expiry ${issuerNotAfter.toISOString()} (asked for ${notAfter.toISOString()}); renew the CA with rescue-kit ca renew`);
    notAfter = new Date(issuerNotAfter);
  }
  return { notBefore, notAfter, warnings };
}
