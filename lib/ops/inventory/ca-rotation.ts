// Is a CA rotation half done? The phased rotation (trust -> reissue -> distrust) records itself in
// /var/lib/rescue-kit/ca-rotation.json; the legacy two-phase one left pki/ca.old.crt. Either is a state
// that must not be forgotten for months (the old CA stays trusted until distrust).
import type { Host } from '../../host/host.js';
import { rotationSummary, type RotationSummary } from '../ca/rotation-state.js';
import { readManifests } from './manifests.js';

export type CaRotationState = Pick<RotationSummary, 'inProgress' | 'since'> & Partial<RotationSummary>;

export function caRotationState(host: Host): RotationSummary {
  return rotationSummary(host, readManifests(host));
}
