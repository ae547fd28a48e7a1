/** JSON Schemas of a `cosign` validator entry and of the cosign options of a policy rule (Connaisseur's format). */

import { authSchema } from '../../registry/auth-schema.js';
import { attestationsRuleOptionSchema } from './attestation-options.js';
type Schema = Record<string, unknown>;

const pem = (description: string): Schema => ({ type: 'string', minLength: 1, description });

const keylessSchema: Schema = {
  type: 'object',
  additionalProperties: false,
  description: 'Keyless (Fulcio certificate) identity: an issuer or issuerRegex, and a subject or subjectRegex.',
  properties: {
    issuer: { type: 'string', minLength: 1 },
    issuerRegex: { type: 'string', minLength: 1 },
    subject: { type: 'string', minLength: 1 },
    subjectRegex: { type: 'string', minLength: 1 },
  },
  allOf: [
    { oneOf: [{ required: ['issuer'] }, { required: ['issuerRegex'] }] },
    { oneOf: [{ required: ['subject'] }, { required: ['subjectRegex'] }] },
  ],
};

const trustRootSchema: Schema = {
  type: 'object',
  additionalProperties: false,
  required: ['name'],
  properties: {
    name: { type: 'string', minLength: 1, description: 'Name that policy rules refer to with `with.trustRoot`.' },
    key: pem('PEM public key (cosign.pub): ECDSA P-256/P-384, RSA >= 2048 bits or Ed25519.'),
    keyless: keylessSchema,
  },
  oneOf: [{ required: ['key'] }, { required: ['keyless'] }],
};

export const cosignConfigSchema: Schema = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'type', 'trustRoots'],
  properties: {
    name: { type: 'string', minLength: 1 },
    type: { const: 'cosign' },
    trustRoots: { type: 'array', minItems: 1, items: trustRootSchema },
    cert: pem('PEM CA certificate(s) the registry\'s TLS certificate chains to (besides the system CAs).'),
    auth: authSchema('Mounted kubernetes.io/dockerconfigjson secret.', {
      useKeychain: { type: 'boolean', description: 'Connaisseur option; accepted, not implemented: the registry is accessed anonymously unless secretName or username/password is set.' },
    }, { fromWorkload: true }),
    host: {
      type: 'object',
      additionalProperties: false,
      properties: {
        rekor: { type: 'string', minLength: 1, description: 'Rekor URL or host (https assumed).' },
        rekorPubkey: pem('PEM public key of the Rekor transparency log.'),
        fulcioCert: pem('PEM certificate(s) of the Fulcio CA.'),
        ctLogPubkey: pem('PEM public key of the certificate transparency log.'),
        trustedRoot: {
          description: 'Sigstore trusted root (trusted_root.json): inline (mapping or JSON string) or a file path; instead of rekorPubkey, fulcioCert and ctLogPubkey.',
          oneOf: [{ type: 'string', minLength: 1 }, { type: 'object' }],
        },
      },
    },
  },
};

/** Properties a policy rule's `with` block accepts for cosign validators (besides trustRoot and mode). */
export const cosignRuleOptionsSchema: Schema = {
  threshold: { type: 'integer', minimum: 1, description: 'With trustRoot "*": at least this many distinct trust roots must have signed.' },
  required: {
    type: 'array',
    uniqueItems: true,
    items: { type: 'string', minLength: 1 },
    description: 'With trustRoot "*": trust roots that must have signed.',
  },
  verifyInTransparencyLog: { type: 'boolean', description: 'Require a valid transparency log (Rekor) entry with each signature (default true).' },
  verifySCT: { type: 'boolean', description: 'Require a valid signed certificate timestamp in keyless certificates (default true).' },
  onlineTransparencyLog: { type: 'boolean', description: 'Look a classic signature without a Rekor bundle up in host.rekor (default false: offline).' },
  attestations: attestationsRuleOptionSchema,
};
