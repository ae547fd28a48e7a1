/**
 * The case catalogue: Connaisseur v3.10.0's test tables transcribed as YAML (one file per area, kept with the
 * Connaisseur data files outside the repository), and the helpers every operation shares.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import yaml from 'js-yaml';

export interface Case {
  id: string;
  /** Which operation runs the case (see ops-*.ts); absent for `na` and `differs` entries. */
  op?: string;
  /** Not comparable: tests a Go-internal helper; the reason. */
  na?: string;
  /** A difference known without running anything (e.g. a feature not run by this harness); the reason. */
  differs?: string;
  /** Anchor (GitHub slug) of the section of docs/migrating-from-connaisseur.md that documents a difference. */
  doc?: string;
  /** How many table rows of the Go test this entry stands for (default 1). */
  rows?: number;
  /** Not a row of Connaisseur's tables (derived from its code): reported, not counted. */
  extra?: boolean;
  expect?: unknown;
  note?: string;
  [key: string]: unknown;
}

export interface CaseFile {
  file: string;
  source: string;
  cases: Case[];
}

export function loadCaseFiles(vectors: string): CaseFile[] {
  const dir = join(vectors, 'cases');
  if (!existsSync(dir)) throw new Error(`no case catalogue at ${dir}; see scripts/connaisseur-parity/README.md`);
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((f) => {
      const doc = yaml.load(readFileSync(join(dir, f), 'utf8')) as { source: string; cases: Case[] };
      return { file: f, source: doc.source, cases: doc.cases };
    });
}

/** GitHub's heading slugs of a Markdown document. */
export function docAnchors(markdown: string): Set<string> {
  const anchors = new Set<string>();
  for (const line of markdown.split('\n')) {
    const m = /^#{1,6}\s+(.*)$/.exec(line);
    if (!m) continue;
    const slug = m[1]!
      .trim()
      .toLowerCase()
      .replace(/<[^>]*>/g, '')
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    anchors.add(slug);
  }
  return anchors;
}

/** The vectors directory and what every operation needs from it. */
export class Vectors {
  constructor(readonly dir: string) {}

  path(rel: string): string {
    return join(this.dir, rel);
  }

  text(rel: string): string {
    return readFileSync(this.path(rel), 'utf8');
  }

  /** PEM of testdata/cosign/<name>.key (public keys, despite the name). */
  key(name: string): string {
    return this.text(`testdata/cosign/${name}.key`);
  }

  /** Replaces every string `@key:<name>` in a parsed document with that public key. */
  withKeys<T>(doc: T): T {
    const walk = (v: unknown): unknown => {
      if (typeof v === 'string' && v.startsWith('@key:')) return this.key(v.slice(5));
      if (Array.isArray(v)) return v.map(walk);
      if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
      return v;
    };
    return walk(doc) as T;
  }

  /** The case's config document: `file` (relative to the vectors) or inline `yaml`, keys substituted. */
  document(c: Case): unknown {
    const text = typeof c.file === 'string' ? this.text(c.file) : String(c.yaml);
    return this.withKeys(yaml.load(text));
  }
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Helm's / yq's merge: mappings merged key by key, everything else (lists included) replaced. */
export function mergeValues(base: unknown, over: unknown): unknown {
  if (!isObject(base) || !isObject(over)) return structuredClone(over);
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = k in out ? mergeValues(out[k], v) : structuredClone(v);
  return out;
}

/** JSON-equal after parsing (key order and escaping do not matter). */
export function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(sortKeys(a)) === JSON.stringify(sortKeys(b));
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (isObject(v)) return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys(v[k])]));
  return v;
}

/** `index.docker.io/…` and `docker.io/…` name the same registry. */
export function sameReference(a: string, b: string): boolean {
  const norm = (s: string) => s.replace(/^index\.docker\.io\//, 'docker.io/');
  return norm(a) === norm(b);
}
