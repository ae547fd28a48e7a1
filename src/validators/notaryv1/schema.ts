/** JSON Schemas of a `notaryv1` validator entry and of its options in a policy rule's `with` block. */

import { authSchema } from '../../registry/auth-schema.js';

type Schema = Record<string, unknown>;

export const DEFAULT_NOTARY_HOST = 'notary.docker.io';

/** `host[:port]`, optionally with `https://` (implied when absent). */
export const HOST_PATTERN = '^(https://)?[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:[0-9]{1,5})?/?$';
/** A delegation name, with or without the `targets/` prefix. */
export const DELEGATION_PATTERN = '^(targets/)?[A-Za-z0-9_-][A-Za-z0-9_.-]*(/[A-Za-z0-9_-][A-Za-z0-9_.-]*){0,3}$';

export const notaryV1ConfigSchema: Schema = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'type', 'trustRoots'],
  properties: {
    name: { type: 'string', minLength: 1 },
    type: { const: 'notaryv1' },
    host: {
      type: 'string',
      pattern: HOST_PATTERN,
      description: `Notary server host[:port]; https is implied. Default ${DEFAULT_NOTARY_HOST}.`,
    },
    cert: { type: 'string', minLength: 1, description: "PEM CA certificate(s) the Notary server's TLS certificate chains to (besides the system CAs)." },
    auth: authSchema('Mounted kubernetes.io/dockerconfigjson secret with credentials for the Notary host.', {}, { boundTo: 'the Notary host' }),
    trustRoots: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name', 'key'],
        properties: {
          name: { type: 'string', minLength: 1, description: 'Name that policy rules refer to with `with.trustRoot`.' },
          key: { type: 'string', minLength: 1, description: "PEM public key (ECDSA or RSA) of the repository's root key." },
        },
      },
    },
  },
};

export const notaryV1RuleOptionsSchema: Schema = {
  delegations: {
    type: 'array',
    uniqueItems: true,
    maxItems: 16,
    items: { type: 'string', pattern: DELEGATION_PATTERN },
    description: 'Delegations (`targets/` prefix implied) that must all have signed the tag with the same digest.',
  },
};
