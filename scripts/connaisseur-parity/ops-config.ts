/** Operations on configuration, references and rules (no server needed). */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { ConfigError } from '../../src/errors.js';
import { loadConfigFile } from '../../src/config/load.js';
import type { AppConfig } from '../../src/config/types.js';
import { parseImageReference, withDigest } from '../../src/image/reference.js';
import { PolicyMatcher } from '../../src/policy/matcher.js';
import { compilePattern, normalizePattern } from '../../src/policy/pattern.js';
import { compareSpecificity, measureSpecificity } from '../../src/policy/specificity.js';
import { isRegistryKey, normaliseRegistryKey } from '../../src/registry/credentials.js';
import { isObject, mergeValues, sameReference, type Case, type Vectors } from './cases.js';

export interface Outcome {
  ok: boolean;
  detail: string;
}

const scratch = mkdtempSync(join(tmpdir(), 'connaisseur-parity-'));
let counter = 0;

/** Writes `doc` to a scratch file and loads it as Imprimatur does (`check-config` / `serve`). */
export function loadDocument(doc: unknown, opts: { secretsDir?: string; templateDirs?: string[]; name?: string } = {}): { config?: AppConfig; error?: string; paths?: string[]; file: string } {
  const file = join(scratch, `${opts.name ?? 'config'}-${++counter}.yaml`);
  writeFileSync(file, typeof doc === 'string' ? doc : yaml.dump(doc, { lineWidth: -1 }));
  try {
    const config = loadConfigFile(file, { secretsDir: opts.secretsDir ?? join(scratch, 'no-secrets'), templateDirs: opts.templateDirs });
    return { config, file };
  } catch (err) {
    if (err instanceof ConfigError) return { error: err.message, paths: err.problems.map((p) => p.path), file };
    return { error: `(not a ConfigError) ${(err as Error).stack}`, file };
  }
}

export function scratchDir(): string {
  return scratch;
}

function expectLoad(c: Case, loaded: { config?: AppConfig; error?: string; paths?: string[] }): Outcome {
  const e = (c.expect ?? {}) as Record<string, unknown>;
  const ok = loaded.config !== undefined;
  if (ok !== e.ok) return { ok: false, detail: ok ? 'Imprimatur loads it; Connaisseur refuses it' : `Imprimatur refuses it: ${loaded.error}` };
  // `at`: the refusal must be about that place (Connaisseur's reason), not only about something else in the file.
  if (!loaded.config && typeof e.at === 'string' && !(loaded.paths ?? []).some((p) => p === e.at || p.startsWith(`${e.at as string}.`) || p.startsWith(`${e.at as string}[`))) {
    return { ok: false, detail: `refused, but not at ${e.at}: ${loaded.error}` };
  }
  if (!loaded.config) return { ok: true, detail: `refused: ${loaded.error?.split('\n').find((l) => typeof e.at !== 'string' || l.includes(`: ${e.at as string}`)) ?? loaded.error}` };
  const cfg = loaded.config;
  const checks: Array<[string, unknown, unknown]> = [
    ['validators', e.validators, cfg.validators.length],
    ['rules', e.rules, cfg.policy.length],
  ];
  for (const [what, want, got] of checks) if (want !== undefined && want !== got) return { ok: false, detail: `${what}: expected ${String(want)}, got ${String(got)}` };
  return { ok: true, detail: `loads${cfg.warnings?.length ? ` with ${cfg.warnings.length} warning(s)` : ''}` };
}

/** op load: a config document (Connaisseur's bare config format). */
export function opLoad(c: Case, v: Vectors): Outcome {
  if (typeof c.file === 'string' && c.file.includes('XX_no_file')) {
    const loaded = (() => {
      try {
        return { config: loadConfigFile(v.path(c.file)) };
      } catch (err) {
        return { error: (err as Error).message };
      }
    })();
    return expectLoad(c, loaded);
  }
  let doc: unknown;
  try {
    doc = v.document(c);
  } catch (err) {
    doc = typeof c.file === 'string' ? v.text(c.file) : String(c.yaml);
    void err;
  }
  const loaded = loadDocument(doc);
  const out = expectLoad(c, loaded);
  const e = c.expect as Record<string, unknown>;
  if (out.ok && loaded.config && (e.admit !== undefined || e.reject !== undefined)) {
    const alerting = loaded.config.alerting as Record<string, { receivers?: unknown[] }> | undefined;
    const admit = alerting?.admitRequest?.receivers?.length ?? 0;
    const reject = alerting?.rejectRequest?.receivers?.length ?? 0;
    if (admit !== e.admit || reject !== e.reject) return { ok: false, detail: `receivers: expected ${String(e.admit)}/${String(e.reject)}, got ${admit}/${reject}` };
  }
  return out;
}

/** A validator entry wrapped into a config with one rule that uses it. */
export function validatorConfig(entry: unknown, c: Case): unknown {
  const name = isObject(entry) && typeof entry.name === 'string' && entry.name !== '' ? entry.name : 'x';
  const roots = isObject(entry) && Array.isArray(entry.trustRoots) ? entry.trustRoots : [];
  const withBlock: Record<string, unknown> = { ...((c.rule as Record<string, unknown> | undefined) ?? {}) };
  if ('trustRoot' in c) {
    if (c.trustRoot !== null) withBlock.trustRoot = c.trustRoot;
  } else if (roots.length > 0 && withBlock.trustRoot === undefined) {
    withBlock.trustRoot = '*';
  }
  return {
    validators: [entry],
    policy: [{ pattern: '*', validator: name, ...(Object.keys(withBlock).length ? { with: withBlock } : {}) }],
  };
}

/** op loadValidator: one validator entry (Connaisseur's testdata/<type>/*.yaml). */
export function opLoadValidator(c: Case, v: Vectors): Outcome {
  let entry: unknown;
  try {
    entry = v.document(c);
  } catch {
    entry = 'unparseable';
  }
  const loaded = loadDocument(validatorConfig(entry, c), { secretsDir: typeof c.secrets === 'string' ? v.path(c.secrets) : undefined });
  const out = expectLoad(c, loaded);
  // A refusal counts only when it is about the validator entry itself (not the wrapper rule around it).
  if (out.ok && !loaded.config && !(loaded.paths ?? []).some((p) => p.startsWith('validators[0]'))) {
    return { ok: false, detail: `refused only for the wrapper rule: ${loaded.error}` };
  }
  const e = c.expect as Record<string, unknown>;
  if (out.ok && loaded.config) {
    const vc = loaded.config.validators[0]!;
    if (e.type !== undefined && vc.type !== e.type) return { ok: false, detail: `type ${vc.type}` };
    if (Array.isArray(e.trustRoots)) {
      const names = (vc.trustRoots ?? []).map((r) => r.name);
      if (JSON.stringify(names) !== JSON.stringify(e.trustRoots)) return { ok: false, detail: `trust roots ${names.join(', ')}` };
    }
  }
  return out;
}

/** op values: Connaisseur's chart values.yaml with the overlays merged over it, loaded as a values file. */
export function opValues(c: Case, v: Vectors): Outcome {
  let doc: unknown = yaml.load(v.text('chart/values.yaml'));
  for (const overlay of (c.overlays as string[]) ?? []) {
    let text = v.text(overlay);
    for (const [name, value] of Object.entries((c.env as Record<string, string>) ?? {})) text = text.replaceAll(`\${${name}}`, value);
    doc = mergeValues(doc, yaml.load(text));
  }
  doc = v.withKeys(replaceStrings(doc, (c.replace as Record<string, string>) ?? {}));
  const loaded = loadDocument(doc, { name: 'values' });
  if (!loaded.config) return { ok: false, detail: loaded.error ?? 'refused' };
  const w = loaded.config.warnings ?? [];
  return { ok: true, detail: `loads${w.length ? `; ${w.length} warning(s): ${w.map((p) => p.path).join(', ')}` : ''}` };
}

function replaceStrings(doc: unknown, map: Record<string, string>): unknown {
  if (typeof doc === 'string') return map[doc] ?? doc;
  if (Array.isArray(doc)) return doc.map((x) => replaceStrings(x, map));
  if (isObject(doc)) return Object.fromEntries(Object.entries(doc).map(([k, x]) => [k, replaceStrings(x, map)]));
  return doc;
}

/** op setting: a values file whose application.<key> is set to `value` (absent when null). */
export function opSetting(c: Case, v: Vectors): Outcome {
  const app: Record<string, unknown> = {
    validators: [{ name: 'default', type: 'static', approve: true }],
    policy: [{ pattern: '*' }],
  };
  if (c.value !== null) {
    const keys = String(c.key).split('.');
    let at = app;
    keys.slice(0, -1).forEach((k) => {
      at[k] = (at[k] as Record<string, unknown> | undefined) ?? {};
      at = at[k] as Record<string, unknown>;
    });
    at[keys.at(-1)!] = c.value;
  }
  void v;
  const loaded = loadDocument({ application: app }, { name: 'setting' });
  const want = (c.expect as { effective: unknown }).effective;
  if (!loaded.config) return { ok: false, detail: `refused: ${loaded.error?.split('\n')[0]}` };
  const got = effective(loaded.config, String(c.key));
  return got === want ? { ok: true, detail: `effective ${String(got)}` } : { ok: false, detail: `effective ${String(got)}, Connaisseur ${String(want)}` };
}

function effective(cfg: AppConfig, key: string): unknown {
  switch (key) {
    case 'logLevel':
      return cfg.logLevel ?? 'info';
    case 'logFormat':
      return (cfg as AppConfig & { logFormat?: string }).logFormat ?? 'json';
    default: {
      let at: unknown = cfg.features;
      for (const k of key.replace(/^features\./, '').split('.')) at = (at as Record<string, unknown>)[k];
      return at;
    }
  }
}

/** op match: which rule (pattern / validator / index) an image gets. */
export function opMatch(c: Case, v: Vectors): Outcome {
  const doc = typeof c.file === 'string' || c.yaml !== undefined ? v.document(c) : c.config;
  const loaded = loadDocument(doc);
  const e = c.expect as Record<string, unknown>;
  if (!loaded.config) return { ok: false, detail: `config refused: ${loaded.error}` };
  let ref;
  try {
    ref = parseImageReference(String(c.image));
  } catch (err) {
    return e.error ? { ok: true, detail: `no rule: ${(err as Error).message}` } : { ok: false, detail: (err as Error).message };
  }
  const found = new PolicyMatcher(loaded.config.policy).match(ref);
  if (!found) return e.error ? { ok: true, detail: 'no rule' } : { ok: false, detail: 'no rule matches' };
  if (e.error) return { ok: false, detail: `rule ${found.rule.pattern}` };
  if (e.pattern !== undefined && found.rule.pattern !== e.pattern) return { ok: false, detail: `rule "${found.rule.pattern}"` };
  if (e.validator !== undefined && found.rule.validator !== e.validator) return { ok: false, detail: `validator ${found.rule.validator}` };
  if (e.index !== undefined && found.rule.index !== e.index) return { ok: false, detail: `rule #${found.rule.index}` };
  return { ok: true, detail: `rule "${found.rule.pattern}" → ${found.rule.validator}` };
}

function specificity(pattern: string, image: string) {
  const ref = parseImageReference(image);
  return measureSpecificity(normalizePattern(pattern), compilePattern(pattern).subject(ref));
}

export function opSpecificity(c: Case): Outcome {
  const s = specificity(String(c.pattern), String(c.image));
  const e = c.expect as { count: number; lengths: number[]; prefixes: number[] };
  const got = { count: s.componentCount, lengths: s.componentLengths, prefixes: s.prefixLengths };
  return { ok: JSON.stringify(got) === JSON.stringify(e), detail: JSON.stringify(got) };
}

export function opCompare(c: Case): Outcome {
  const a = specificity(String(c.a), String(c.image));
  const b = specificity(String(c.b), String(c.image));
  const got = Math.sign(compareSpecificity(b, a));
  return { ok: got === c.expect, detail: `${got}` };
}

/** op image: how a reference is read. */
export function opImage(c: Case): Outcome {
  const e = c.expect as { name?: string; error?: boolean; digest?: string; tag?: string };
  let ref;
  try {
    ref = parseImageReference(String(c.input));
  } catch (err) {
    return { ok: e.error === true, detail: `invalid: ${(err as Error).message}` };
  }
  if (e.error) return { ok: false, detail: `reads it as ${ref.normalized}` };
  if (e.name !== undefined) return { ok: sameReference(ref.normalized, e.name), detail: ref.normalized };
  if (e.digest !== undefined) return { ok: (ref.digest ?? '') === e.digest, detail: ref.digest ?? '(none)' };
  if (e.tag !== undefined) return { ok: (ref.tag ?? '') === e.tag, detail: ref.tag ?? '(none)' };
  return { ok: false, detail: 'nothing to compare' };
}

export function opPin(c: Case): Outcome {
  const pinned = withDigest(parseImageReference(String(c.input)), String(c.digest)).normalized;
  return { ok: sameReference(pinned, String((c.expect as { name: string }).name)), detail: pinned };
}

export function opNotaryGun(c: Case): Outcome {
  const gun = parseImageReference(String(c.input)).name;
  return { ok: gun === (c.expect as { gun: string }).gun, detail: gun };
}

/** op registryKey: a registry key of a credentials file (`https://index.docker.io/v1/` …). */
export function opRegistryKey(c: Case): Outcome {
  const e = c.expect as { key?: string; error?: boolean };
  const normalised = normaliseRegistryKey(String(c.input));
  if (!normalised.host || !isRegistryKey(normalised)) return { ok: e.error === true, detail: `refused: ${JSON.stringify(c.input)} is not a registry` };
  const key = normalised.key;
  if (e.error) return { ok: false, detail: `accepted as ${key}` };
  return { ok: sameReference(`${key}/`, `${e.key}/`), detail: key };
}
