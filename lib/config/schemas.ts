// JSON Schemas for the two files cfssl users already have: ca-config.json and
// CSR JSON. Field names are cfssl's; unknown fields are errors (a typo such as
// "usage" for "usages" is silently ignored by cfssl and signs the wrong cert).

const duration = { type: 'string', minLength: 1 } as const;

const profile = {
  type: 'object',
  properties: {
    usages: { type: 'array', items: { type: 'string' } },
    expiry: duration,
    ca_constraint: {
      type: 'object',
      properties: {
        is_ca: { type: 'boolean' },
        max_path_len: { type: 'integer', minimum: -1 },
        max_path_len_zero: { type: 'boolean' },
      },
      additionalProperties: false,
    },
    backdate: duration,
    // cfssl fields rescue-kit reads but does not act on (see UNSUPPORTED_PROFILE_FIELDS).
    issuer_urls: { type: 'array', items: { type: 'string' } },
    ocsp_url: { type: 'string' },
    crl_url: { type: 'string' },
    ocsp_no_check: { type: 'boolean' },
    auth_key: { type: 'string' },
    remote: { type: 'string' },
    name_whitelist: { type: 'string' },
    copy_extensions: { type: 'boolean' },
    not_before: { type: 'string' },
    not_after: { type: 'string' },
  },
  additionalProperties: false,
} as const;

export const caConfigSchema = {
  type: 'object',
  required: ['signing'],
  properties: {
    signing: {
      type: 'object',
      properties: {
        default: profile,
        profiles: { type: 'object', additionalProperties: profile },
      },
      additionalProperties: false,
    },
    auth_keys: { type: 'object' },
    remotes: { type: 'object' },
  },
  additionalProperties: false,
} as const;

const nameEntry = {
  type: 'object',
  properties: {
    C: { type: 'string' },
    ST: { type: 'string' },
    L: { type: 'string' },
    O: { type: 'string' },
    OU: { type: 'string' },
    SerialNumber: { type: 'string' },
  },
  additionalProperties: false,
} as const;

export const csrJsonSchema = {
  type: 'object',
  properties: {
    CN: { type: 'string' },
    names: { type: 'array', items: nameEntry },
    hosts: { type: 'array', items: { type: 'string' } },
    key: {
      type: 'object',
      required: ['algo'],
      properties: {
        algo: { enum: ['rsa', 'ecdsa', 'ed25519'] },
        size: { type: 'integer' },
      },
      additionalProperties: false,
    },
    ca: {
      type: 'object',
      properties: {
        expiry: duration,
        pathlen: { type: 'integer', minimum: 0 },
        pathlenzero: { type: 'boolean' },
        backdate: duration,
      },
      additionalProperties: false,
    },
    serialnumber: { type: 'string' },
  },
  additionalProperties: false,
} as const;
