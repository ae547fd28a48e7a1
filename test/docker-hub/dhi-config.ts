/** The shipped `dhi` validator and rule, pointed at a test registry with test keys. */
import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import yaml from 'js-yaml';
import type { TestRegistry } from '../harness/registry.js';

/**
 * policies/default.yaml with only what a test must change: the dhi validator's two keys (PEM), optionally a
 * pull secret, and the `dhi.io/*` pattern renamed to `<registry>/dhi/*` (plain HTTP allowed for it).
 */
export function dhiConfig(registry: TestRegistry, keys: { dhi2: string; dhi1: string }, secretName?: string): string {
  const doc = yaml.load(readFileSync('policies/default.yaml', 'utf8')) as { validators: Array<Record<string, any>>; policy: Array<Record<string, any>> } & Record<string, unknown>;
  const dhi = doc.validators.find((v) => v.name === 'dhi')!;
  expect(dhi.trustRoots.map((r: { name: string }) => r.name)).to.deep.equal(['dhi-2', 'dhi-1']);
  dhi.trustRoots = [{ name: 'dhi-2', key: keys.dhi2 }, { name: 'dhi-1', key: keys.dhi1 }];
  if (secretName) dhi.auth = { secretName };
  const rule = doc.policy.find((r) => r.pattern === 'dhi.io/*')!;
  rule.pattern = `${registry.host}/dhi/*`;
  doc.insecureRegistries = [registry.host];
  return yaml.dump(doc);
}
