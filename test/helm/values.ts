/** Values documents for the chart tests (merged over helm/values.yaml). */
import { generateKeyPairSync } from 'node:crypto';

const cosignKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }).toString();

export function detectionValues(on: boolean): Record<string, unknown> {
  return { application: { features: { detectionMode: on } } };
}

/** Every non-default knob the tests check: detection mode, namespaced validation, no child approval, … */
export const TEST_VALUES: Record<string, unknown> = {
  kubernetes: {
    webhook: { failurePolicy: 'Ignore', reinvocationPolicy: 'Never', timeoutSeconds: 10, excludedNamespaces: ['monitoring'] },
    redis: { url: 'redis://redis.cache:6379/0' },
    alertTemplates: { 'team.json': '{"text": "{{ decision }} {{ images }}"}' },
    events: { enabled: false },
  },
  application: {
    validators: [
      { name: 'allow', type: 'static', approve: true },
      { name: 'deny', type: 'static', approve: false },
    ],
    policy: [
      { pattern: '*:*', validator: 'deny' },
      { pattern: 'registry.k8s.io/*', validator: 'allow' },
    ],
    features: {
      detectionMode: true,
      automaticChildApproval: false,
      namespacedValidation: { mode: 'validate' },
    },
    admissionDeadlineSeconds: 8,
  },
};

/** A validator reading registry credentials from a mounted Secret (`auth.secretName`). */
export const AUTH_VALUES: Record<string, unknown> = {
  application: {
    validators: [
      { name: 'deny', type: 'static', approve: false },
      { name: 'internal', type: 'cosign', trustRoots: [{ name: 'default', key: cosignKey }], auth: { secretName: 'registry-creds' } },
    ],
    policy: [{ pattern: '*:*', validator: 'deny' }, { pattern: 'registry.internal.example/*:*', validator: 'internal' }],
  },
};

/** A validator reading workloads' pull secrets (auth.fromWorkload), without child approval; `namespaces` limits the RBAC. */
export function workloadCredentialValues(namespaces: string[] = []): Record<string, unknown> {
  return {
    kubernetes: { workloadCredentials: { namespaces } },
    application: {
      validators: [
        { name: 'deny', type: 'static', approve: false },
        { name: 'internal', type: 'cosign', trustRoots: [{ name: 'default', key: cosignKey }], auth: { fromWorkload: true } },
      ],
      policy: [{ pattern: '*:*', validator: 'deny' }, { pattern: 'registry.internal.example/*:*', validator: 'internal' }],
      features: { automaticChildApproval: false },
    },
  };
}

/** Environment variables for the webhook: a literal and a token from a Secret (as docs/alerting.md shows). */
export const ENV_VALUES: Record<string, unknown> = {
  kubernetes: {
    deployment: {
      envs: {
        HTTPS_PROXY: 'http://proxy.internal:3128',
        RETRIES: 3,
        SYSDIG_SECURE_API_TOKEN: { valueFrom: { secretKeyRef: { name: 'imprimatur-alerting', key: 'sysdig-token' } } },
      },
    },
  },
};
