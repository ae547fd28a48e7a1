/**
 * JSON Schema of a validator's `auth` block: a mounted dockerconfigjson secret, or username + password (not both).
 * Credentials are bound to where they may be sent (see credential-binding.ts): a secret's entries to their host keys;
 * username/password to `registries` (or Connaisseur's single `registry`), which must then be given (unless `boundTo`
 * says where they go, as for a Notary validator's own host). `tokenHosts` lists token services on other hosts that
 * may receive them. `fromWorkload` (registry validators only) adds the workload's pull secrets (src/pull-secrets).
 */
const HOST = '^[A-Za-z0-9.\\-\\[\\]:]+$';

export function authSchema(secretDescription: string, extraProperties: Record<string, unknown> = {}, opts: { boundTo?: string; fromWorkload?: boolean } = {}): Record<string, unknown> {
  const registriesSchema = {
    type: 'array',
    minItems: 1,
    items: { type: 'string', pattern: HOST, description: 'a registry host[:port], e.g. "registry.example.com" or "docker.io"' },
    description: 'the registries (host[:port]) these credentials are for; they are sent to nothing else, e.g. ["registry.example.com"]',
  };
  const registries = opts.boundTo ? {} : { registries: registriesSchema };
  return {
    type: 'object',
    additionalProperties: false,
    properties: {
      secretName: { type: 'string', minLength: 1, description: secretDescription },
      username: { type: 'string', minLength: 1 },
      password: { type: 'string', minLength: 1 },
      ...registries,
      registry: {
        type: 'string',
        pattern: HOST,
        description: opts.boundTo
          ? `Connaisseur's form: the registry (host[:port]) username/password are for; without it, ${opts.boundTo}`
          : 'Connaisseur\'s form of registries: the one registry (host[:port]) these credentials are for, e.g. "registry.example.com"',
      },
      tokenHosts: {
        type: 'array',
        items: { type: 'string', pattern: HOST, description: 'a token service host[:port], e.g. "auth.example.com"' },
        description: `token services (host[:port]) on another host than the registry that may receive the credentials when the registry names them as its Bearer realm (Docker Hub's auth.docker.io is known)${opts.boundTo ? `; the credentials are for ${opts.boundTo}` : ''}`,
      },
      ...(opts.fromWorkload
        ? {
            fromWorkload: {
              type: 'boolean',
              description:
                'Use the pull secrets of the workload being admitted (its imagePullSecrets, else its ServiceAccount\'s, read through the Kubernetes API in its namespace): only their entries for the image\'s registry, tried in the kubelet\'s order before this validator\'s own credentials. Default false. The chart then grants get on Secrets and ServiceAccounts (docs/registry.md).',
            },
          }
        : {}),
      ...extraProperties,
    },
    // draft-07 `dependencies` (ajv ignores `dependentRequired` in draft-07 mode)
    dependencies: opts.boundTo
      ? { username: ['password'], password: ['username'], registry: ['username'] }
      : { username: ['password'], password: ['username'], registries: ['username'], registry: ['username'] },
    // Without Connaisseur's `registry`, username/password need `registries`.
    ...(opts.boundTo
      ? {}
      : {
          if: { not: { required: ['registry'] } },
          then: { properties: { registries: registriesSchema }, dependencies: { username: ['registries'] } },
        }),
    allOf: [{ not: { required: ['secretName', 'username'] } }, { not: { required: ['registry', 'registries'] } }],
  };
}
