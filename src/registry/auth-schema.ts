/** JSON Schema of a validator's `auth` block: a mounted dockerconfigjson secret, or username + password (not both). */
export function authSchema(secretDescription: string, extraProperties: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    type: 'object',
    additionalProperties: false,
    properties: {
      secretName: { type: 'string', minLength: 1, description: secretDescription },
      username: { type: 'string', minLength: 1 },
      password: { type: 'string', minLength: 1 },
      ...extraProperties,
    },
    // draft-07 `dependencies` (ajv ignores `dependentRequired` in draft-07 mode)
    dependencies: { username: ['password'], password: ['username'] },
    not: { required: ['secretName', 'username'] },
  };
}
