/**
 * Measures how closely Imprimatur follows Connaisseur v3.10.0 on Connaisseur's own test tables and test data.
 *
 *   npx tsx scripts/connaisseur-parity/measure.ts [--vectors DIR] [--only TEXT] [--json] [--all]
 *
 * DIR (default $CONNAISSEUR_VECTORS or /work/shared/testvectors/connaisseur) holds Connaisseur's data files
 * (chart/, integration/, testdata/) and the case catalogue (cases/*.yaml, one entry per row of a Go test table).
 * Every case is run against Imprimatur's real code and classified:
 *   matched      — Imprimatur behaves as the Go test expects Connaisseur to;
 *   documented   — it does not, and the case names a section of docs/migrating-from-connaisseur.md that exists;
 *   undocumented — it does not, and no existing section explains it;
 *   n/a          — the row tests a Go-internal helper with nothing observable to compare (reason given).
 * Rows marked `extra` (derived from Connaisseur's code, not its tables) are run and reported but not counted.
 * Not part of `npm test`: the data stays outside the repository.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { docAnchors, loadCaseFiles, Vectors, type Case } from './cases.js';
import * as adm from './ops-admission.js';
import * as al from './ops-alerting.js';
import * as cfg from './ops-config.js';
import * as val from './ops-validators.js';

type Op = (c: Case, v: Vectors, byId: Map<string, Case>) => cfg.Outcome | Promise<cfg.Outcome>;

const OPS: Record<string, Op> = {
  load: cfg.opLoad,
  loadValidator: cfg.opLoadValidator,
  values: cfg.opValues,
  setting: cfg.opSetting,
  match: cfg.opMatch,
  specificity: cfg.opSpecificity,
  compare: cfg.opCompare,
  image: cfg.opImage,
  pin: cfg.opPin,
  notaryGun: cfg.opNotaryGun,
  registryKey: cfg.opRegistryKey,
  http: adm.opHttp,
  admission: adm.opAdmission,
  review: adm.opReview,
  images: adm.opImages,
  containers: adm.opContainers,
  containerPath: adm.opContainerPath,
  metrics: adm.opMetrics,
  child: adm.opChild,
  owner: adm.opOwner,
  cacheErrors: adm.opCaching,
  cacheExpiry: adm.opCaching,
  cacheDown: adm.opCacheDown,
  alertingLoad: al.opAlertingLoad,
  render: al.opRender,
  send: al.opSend,
  notify: al.opNotify,
  cosign: val.opCosign,
  notary: val.opNotary,
  notation: val.opNotation,
  lookup: val.opLookup,
};

type Verdict = 'matched' | 'documented' | 'undocumented' | 'n/a';

interface Row {
  file: string;
  id: string;
  rows: number;
  verdict: Verdict;
  detail: string;
  extra: boolean;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: { vectors: { type: 'string' }, only: { type: 'string' }, json: { type: 'boolean' }, all: { type: 'boolean' } },
  });
  const vectors = new Vectors(values.vectors ?? process.env.CONNAISSEUR_VECTORS ?? '/work/shared/testvectors/connaisseur');
  const docFile = fileURLToPath(new URL('../../docs/migrating-from-connaisseur.md', import.meta.url));
  let anchors = new Set<string>();
  try {
    anchors = docAnchors(readFileSync(docFile, 'utf8'));
  } catch {
    // no document yet: every difference is undocumented
  }
  const files = loadCaseFiles(vectors.dir);
  const byId = new Map(files.flatMap((f) => f.cases.map((c) => [c.id, c] as const)));
  const results: Row[] = [];
  for (const f of files) {
    for (const c of f.cases) {
      if (values.only && !`${f.file} ${c.id}`.includes(values.only)) continue;
      const rows = c.rows ?? 1;
      const documented = (why: string): Row => ({
        file: f.file, id: c.id, rows, extra: c.extra === true,
        verdict: c.doc && anchors.has(c.doc) ? 'documented' : 'undocumented',
        detail: c.doc && !anchors.has(c.doc) ? `${why} [doc section #${c.doc} missing]` : why,
      });
      if (c.na !== undefined) {
        results.push({ file: f.file, id: c.id, rows, verdict: 'n/a', detail: c.na, extra: false });
        continue;
      }
      if (c.differs !== undefined) {
        results.push(documented(c.differs));
        continue;
      }
      const op = OPS[String(c.op)];
      let outcome: cfg.Outcome;
      try {
        outcome = op ? await op(c, vectors, byId) : { ok: false, detail: `unknown op ${String(c.op)}` };
      } catch (err) {
        outcome = { ok: false, detail: `harness error: ${(err as Error).stack?.split('\n').slice(0, 3).join(' | ')}` };
      }
      results.push(outcome.ok ? { file: f.file, id: c.id, rows, verdict: 'matched', detail: outcome.detail, extra: c.extra === true } : documented(outcome.detail));
    }
  }
  await val.closeServers();
  report(results, values.json === true, values.all === true);
  return 0;
}

function report(results: Row[], json: boolean, all: boolean): void {
  const counted = results.filter((r) => !r.extra);
  const sum = (rows: Row[], v: Verdict) => rows.filter((r) => r.verdict === v).reduce((n, r) => n + r.rows, 0);
  const totals = { matched: sum(counted, 'matched'), documented: sum(counted, 'documented'), undocumented: sum(counted, 'undocumented'), na: sum(counted, 'n/a') };
  const comparable = totals.matched + totals.documented + totals.undocumented;
  const pct = (n: number) => (comparable ? ((100 * n) / comparable).toFixed(1) : '0.0');
  if (json) {
    process.stdout.write(`${JSON.stringify({ totals, comparable, matchedPercent: Number(pct(totals.matched)), matchedOrDocumentedPercent: Number(pct(totals.matched + totals.documented)), results }, null, 2)}\n`);
    return;
  }
  const out: string[] = [];
  out.push('file                 matched  documented  undocumented  n/a');
  for (const file of [...new Set(counted.map((r) => r.file))]) {
    const rows = counted.filter((r) => r.file === file);
    out.push(`${file.padEnd(20)} ${String(sum(rows, 'matched')).padStart(7)} ${String(sum(rows, 'documented')).padStart(11)} ${String(sum(rows, 'undocumented')).padStart(13)} ${String(sum(rows, 'n/a')).padStart(4)}`);
  }
  out.push(`${'total'.padEnd(20)} ${String(totals.matched).padStart(7)} ${String(totals.documented).padStart(11)} ${String(totals.undocumented).padStart(13)} ${String(totals.na).padStart(4)}`);
  out.push('');
  out.push(`comparable cases: ${comparable}; matched ${pct(totals.matched)} %, matched or documented ${pct(totals.matched + totals.documented)} %, undocumented ${totals.undocumented}`);
  const extras = results.filter((r) => r.extra);
  if (extras.length) out.push(`extra (not counted): ${extras.map((r) => `${r.id}=${r.verdict}`).join(', ')}`);
  const show = results.filter((r) => all || r.verdict === 'undocumented' || (r.verdict === 'documented' && all));
  for (const verdict of ['undocumented', 'documented', 'matched', 'n/a'] as Verdict[]) {
    const rows = show.filter((r) => r.verdict === verdict);
    if (!rows.length) continue;
    out.push('', `${verdict}:`);
    for (const r of rows) out.push(`  ${r.file} ${r.id}${r.rows > 1 ? ` (${r.rows} rows)` : ''}: ${r.detail.replace(/\s+/g, ' ').slice(0, 400)}`);
  }
  process.stdout.write(`${out.join('\n')}\n`);
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`${(err as Error).stack}\n`);
    process.exit(2);
  },
);
