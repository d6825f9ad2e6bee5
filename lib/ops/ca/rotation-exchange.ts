// The exchange directory of a rotation (--export-new DIR on the first control plane, --new-ca DIR
// on the others): the new CA pairs and service-account key, so every control plane trusts and
// signs with the same new CA, and a copy of the progress (ca-rotation.json), so distrust on one
// node knows whether the others have reissued. It holds private keys: 0700, keys 0600, and it is
// for control planes only — a worker takes the certificates alone (--new-ca with only *.crt/sa.pub).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RescueError } from '../../errors.js';
import { makeDirectories, PRIVATE_KEY_MODE, PUBLIC_MODE, writeFilesAtomically, type FileToWrite } from '../../host/fs.js';
import type { Host } from '../../host/host.js';
import { caSpec, PKI_DIR } from '../../catalogue/kubeadm.js';
import { keysMatch, parsePrivateKey } from '../../pki/keys.js';
import { mergeStates, parseRotationState, readRotationState, Rotatable, RotationState } from './rotation-state.js';
import { sha256Hex } from '../../pki/digest.js';
import { EXCHANGE_FILES, EXCHANGE_STATE, NewAuthority, spkiOfPem, stagedPaths } from './rotate-phases.js';
import { Certificate, parseCertificates } from '../../pki/certificate.js';

const readIfThere = (path: string) => (existsSync(path) ? readFileSync(path, 'utf8') : undefined);

/** What DIR holds for the chosen authorities, and the progress recorded there. */
export function readExchange(dir: string, authorities: Rotatable[]): { given: Partial<Record<Rotatable, NewAuthority>>; shared?: RotationState } {
  if (!existsSync(dir)) throw new RescueError('FILE_NOT_FOUND', `--new-ca ${dir}: no such directory`, { file: dir, hint: 'pass the directory the first control plane wrote with --export-new' });
  const given: Partial<Record<Rotatable, NewAuthority>> = {};
  for (const name of authorities) {
    const files = EXCHANGE_FILES[name];
    const certificate = readIfThere(join(dir, files.certificate));
    const keyText = readIfThere(join(dir, files.key));
    if (!certificate && !keyText) continue;
    try {
      const key = keyText ? parsePrivateKey(keyText) : undefined;
      given[name] = name === 'sa' ? { publicPem: certificate, key } : { certificatePem: certificate, key };
      if (name !== 'sa' && !certificate) throw new Error(`${files.key} without ${files.certificate}`);
    } catch (error) {
      throw new RescueError('INVALID_PEM', `--new-ca ${dir}: ${name}: ${(error as Error).message}`, { file: join(dir, files.certificate), hint: 'export it again on the first control plane (rescue-kit ca rotate --export-new DIR)' });
    }
  }
  return { given, shared: readProgress(dir) };
}

/**
 * The progress in DIR: ca-rotation.json merged with every ca-rotation.NODE.json beside it (workers of one
 * batch report at the same time, each into its own file, so none overwrites another's progress).
 */
function readProgress(dir: string): RotationState | undefined {
  const files = readdirSync(dir).filter((file) => file === EXCHANGE_STATE || PER_NODE_STATE.test(file)).sort((a, b) => Number(b === EXCHANGE_STATE) - Number(a === EXCHANGE_STATE));
  return files.reduce<RotationState | undefined>((merged, file) => {
    const state = parseRotationState(readFileSync(join(dir, file), 'utf8'), join(dir, file));
    return merged ? mergeStates(merged, state) : state;
  }, undefined);
}
const PER_NODE_STATE = /^ca-rotation\.[^/]+\.json$/;

/**
 * Write this tree's new material for the authorities in rotation (staged after trust, in place after reissue)
 * and the merged progress into DIR. Without keys (a worker's copy) only the certificates and sa.pub go.
 */
export function writeExchange(host: Host, dir: string, state: RotationState, options: { withKeys: boolean }): string[] {
  makeDirectories(dir, 0o700);
  const files: FileToWrite[] = [];
  for (const [name, rotation] of Object.entries(state.authorities) as [Rotatable, NonNullable<RotationState['authorities'][Rotatable]>][]) {
    const out = EXCHANGE_FILES[name];
    if (name === 'sa') {
      const staged = host.read(`${PKI_DIR}/sa.new.key`) ?? host.read(`${PKI_DIR}/sa.key`);
      const publics = host.read(`${PKI_DIR}/sa.pub`)?.toString().match(/-----BEGIN PUBLIC KEY-----[\s\S]*?-----END PUBLIC KEY-----\n?/g) ?? [];
      const newPub = publics.find((pem) => sha256Hex(spkiOfPem(pem)) === rotation.newFingerprint);
      if (newPub) files.push({ path: join(dir, out.certificate), data: newPub.endsWith('\n') ? newPub : `${newPub}\n`, mode: PUBLIC_MODE });
      if (options.withKeys && staged && sha256Hex(spkiOfPem(staged.toString())) === rotation.newFingerprint) files.push({ path: join(dir, out.key), data: staged, mode: PRIVATE_KEY_MODE });
      continue;
    }
    const staged = stagedPaths(name);
    const placed = caSpec(name).storage;
    const candidates = [staged.certificate, placed.certificate].flatMap((path) => {
      const data = host.read(path);
      return data ? parseCertificates(data) : [];
    });
    const newCa = candidates.find((certificate) => sha256Hex(certificate.der) === rotation.newFingerprint);
    if (!newCa) continue;
    files.push({ path: join(dir, out.certificate), data: newCa.pem, mode: PUBLIC_MODE });
    if (!options.withKeys) continue;
    const key = [staged.key, placed.key].map((path) => host.read(path)).find((data) => data && keyMatches(data.toString(), newCa));
    if (key) files.push({ path: join(dir, out.key), data: key, mode: PRIVATE_KEY_MODE });
  }
  const previous = readIfThere(join(dir, EXCHANGE_STATE));
  const merged = mergeStates(state, previous ? parseRotationState(previous, join(dir, EXCHANGE_STATE)) : undefined);
  files.push({ path: join(dir, EXCHANGE_STATE), data: `${JSON.stringify(merged, null, 2)}\n`, mode: PUBLIC_MODE });
  writeFilesAtomically(files, { overwrite: true });
  return files.map((file) => file.path);
}

/** `ca rotate --export-new DIR` alone: what this tree's state says is in rotation. */
export function exportFromTree(host: Host, dir: string, options: { withKeys: boolean }): string[] {
  const state = readRotationState(host);
  if (!state || !Object.keys(state.authorities).length) throw new RescueError('PRECONDITION', 'no CA rotation in progress on this tree: nothing to export', { hint: 'start one: rescue-kit ca rotate CA --phase trust --export-new DIR' });
  return writeExchange(host, dir, state, options);
}

function keyMatches(pem: string, certificate: Certificate): boolean {
  try {
    return keysMatch(parsePrivateKey(pem), certificate.publicKey);
  } catch {
    return false;
  }
}
