/** Config snippets the webhook tests share. */

/** The two static validators most tests use: `allow` (approve) and `deny` (reject). */
export const STATIC_VALIDATORS = `validators:
  - name: allow
    type: static
    approve: true
  - name: deny
    type: static
    approve: false
`;

/** Static validators plus the default-deny rule and the registry.k8s.io allow rule; append more rules as YAML list items. */
export function staticPolicy(extraRules = ''): string {
  return `${STATIC_VALIDATORS}policy:
  - pattern: "*:*"
    validator: deny
  - pattern: "registry.k8s.io/*"
    validator: allow
${extraRules}`;
}

/** Indents a PEM block for a YAML literal (`key: |`). */
export function indentPem(pem: string, spaces: number): string {
  return pem.trim().split('\n').map((line) => `${' '.repeat(spaces)}${line}`).join('\n');
}

/** A key-based cosign validator as a `validators:` list item, its one trust root named `default`. */
export function cosignKeyValidator(name: string, publicPem: string): string {
  return `  - name: ${name}
    type: cosign
    trustRoots:
      - name: default
        key: |
${indentPem(publicPem, 10)}
`;
}
