// rescue-kit's public library API: re-exports only.
export { RescueError, ExitCode, isRescueError } from './errors.js';
export type { ErrorCode } from './errors.js';

export * from './pki/keys.js';
export * from './pki/certificate.js';
export * from './pki/csr.js';
export * from './pki/sign.js';
export * from './pki/verify.js';
export * from './pki/validity.js';
export { decodePem, encodePem } from './pki/pem.js';
export { classifyHosts, encodeSans, decodeSans, normalizeIp, sansToHosts, mergeSans, emptySans } from './pki/san.js';
export type { SubjectAltNames } from './pki/san.js';
export { encodeName, decodeName, formatName, nameFields } from './pki/name.js';
export type { NameFields, NameAttribute } from './pki/name.js';
export { parseUsages, usageNames } from './pki/extensions.js';
export type { Usages, KeyUsageName, ExtKeyUsageName, Extension } from './pki/extensions.js';

export { loadCaConfig } from './config/ca-config.js';
export type { CaConfig, SigningProfile } from './config/ca-config.js';
export { loadCsrJson, csrRequestFromJson, parseHostnameFlag } from './config/csr-json.js';
export type { CsrJson, CsrRequest } from './config/csr-json.js';
export { initCa, generateCertificate, signRequest, DEFAULT_CA_DURATION_MS } from './config/gencert.js';
export type { GeneratedCertificate } from './config/gencert.js';
export * from './pki/renewal.js';
