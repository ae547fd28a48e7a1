/** JSON Schemas of a `notation` validator entry and of its policy-rule options (Connaisseur's format, plus trustedIdentities). */
import { authSchema } from '../../registry/auth-schema.js';
import { cosignRuleOptionsSchema } from '../cosign/schema.js';
import { LEVELS, OVERRIDES } from './levels.js';

type Schema = Record<string, unknown>;

const trustRootSchema: Schema = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'cert'],
  properties: {
    name: { type: 'string', minLength: 1, description: 'Name that policy rules refer to with `with.trustRoot`.' },
    cert: { type: 'string', minLength: 1, description: 'PEM certificate(s) trusted for signing: root CA(s), or a self-signed signing certificate (`notation cert generate-test`). A bundle may hold several.' },
    tsCert: { type: 'string', minLength: 1, description: 'PEM root certificate(s) of the timestamp authorities (TSA) whose RFC 3161 countersignatures are trusted.' },
    trustedIdentities: {
      type: 'array',
      minItems: 1,
      items: { type: 'string', minLength: 1 },
      description: 'Signing certificate subjects trusted under this root, as in Notation trust policies ("x509.subject: C=US, ST=WA, O=Acme, CN=release"), or ["*"] for any certificate the root issued. Default: any (with a warning).',
    },
  },
};

export const notationConfigSchema: Schema = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'type', 'trustRoots'],
  properties: {
    name: { type: 'string', minLength: 1 },
    type: { const: 'notation' },
    trustRoots: { type: 'array', minItems: 1, items: trustRootSchema },
    cert: { type: 'string', minLength: 1, description: 'PEM CA certificate(s) the registry\'s TLS certificate chains to (besides the system CAs).' },
    revocationCheck: {
      enum: ['offline', 'online'],
      description: 'offline (default): no CRL or OCSP is fetched, and a certificate that names either has an unknown revocation status; online: OCSP, then CRL, for trusted chains (5 s per request, within the admission deadline; answers cached until due).',
    },
    auth: authSchema('Mounted kubernetes.io/dockerconfigjson secret.', {
      useKeychain: { type: 'boolean', description: 'Connaisseur option; accepted, not implemented: the registry is accessed anonymously unless secretName or username/password is set.' },
    }, { fromWorkload: true }),
  },
};

/** Rule options for notation validators (besides trustRoot and mode); threshold/required as for cosign. */
export const notationRuleOptionsSchema: Schema = {
  threshold: cosignRuleOptionsSchema.threshold,
  required: cosignRuleOptionsSchema.required,
  verificationLevel: {
    enum: [...LEVELS],
    description: 'Notary Project verification level: strict (default) enforces every check; permissive logs authentic timestamp, expiry and revocation failures; audit enforces only integrity; skip verifies nothing.',
  },
  verifyTimestamp: {
    enum: ['always', 'afterCertExpiry'],
    description: 'With a trust root that has tsCert: verify the RFC 3161 timestamp always (default), or only once a certificate of the signing chain has expired.',
  },
  verificationOverride: {
    type: 'object',
    additionalProperties: false,
    description: 'Custom verification level (the trust policy\'s "override"): per check, enforce or log (revocation also skip).',
    properties: Object.fromEntries(Object.entries(OVERRIDES).map(([k, v]) => [k, { enum: v }])),
  },
};
