/** Signature validators against Connaisseur's test data: cosign vectors from a static registry, Notary trust data. */
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { Engine } from '../../src/admission/engine.js';
import { parseImageReference } from '../../src/image/reference.js';
import { silentLogger } from '../../src/log.js';
import { createCredentialSource } from '../../src/registry/credential-binding.js';
import { localSelfSigned } from '../../src/server/tls.js';
import { startFixtureRegistry, type FixtureRegistry } from '../../test/harness/fixture-registry.js';
import { isObject, type Case, type Vectors } from './cases.js';
import { loadDocument, scratchDir, type Outcome } from './ops-config.js';

const REPO = 'securesystemsengineering/testimage';

let registry: Promise<FixtureRegistry> | undefined;
function cosignRegistry(v: Vectors): Promise<FixtureRegistry> {
  registry ??= startFixtureRegistry(v.path('testdata/cosign'), [REPO]).then((r) => {
    r.addManifest(REPO, 'co-unsigned', Buffer.from(JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', size: 2, digest: 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a' },
      layers: [],
    })));
    return r;
  });
  return registry;
}

let notationRegistry: Promise<FixtureRegistry> | undefined;

/** op notation: testdata/notation's signed image served by a static registry (Connaisseur's NotationMockRegistry). */
export async function opNotation(c: Case, v: Vectors): Promise<Outcome> {
  notationRegistry ??= startFixtureRegistry(v.path('testdata/notation'), ['sse-secure-systems/testimage']);
  const reg = await notationRegistry;
  const entry = v.document(c) as Record<string, unknown>;
  const doc = { validators: [entry], policy: [{ pattern: '*', validator: entry.name, with: c.rule ?? {} }], insecureRegistries: [reg.host] };
  return judge(c, await decide(doc, `${reg.host}/${String(c.image)}`));
}

let notary: Promise<{ host: string; ca: string; close(): Promise<void> }> | undefined;
/** Serves trust_data/<image>/<role>.json at /v2/docker.io/library/<image>/_trust/tuf/<role>.json (Connaisseur's NotaryMock). */
function notaryMock(v: Vectors) {
  notary ??= new Promise((resolve) => {
    const tls = localSelfSigned(join(scratchDir(), 'notary-tls'));
    const base = v.path('testdata/notaryv1/trust_data');
    const server = createServer({ cert: tls.cert, key: tls.key }, (req, res) => {
      const m = /^\/v2\/docker\.io\/library\/([^/]+)\/_trust\/tuf\/(.+)\.json$/.exec(decodeURIComponent(req.url ?? ''));
      const file = m ? join(base, m[1]!, `${m[2]!}.json`) : '';
      if (!m || m[1]!.includes('..') || m[2]!.includes('..') || !existsSync(file)) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(goMarshal(readFileSync(file)));
    });
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as AddressInfo).port;
      resolve({ host: `127.0.0.1:${port}`, ca: tls.cert, close: () => new Promise<void>((r) => server.close(() => r())) });
    });
  });
  return notary;
}

/** NotaryMock re-marshals each file as Go's data.Signed (compact, fields in struct order): the bytes the hashes cover. */
function goMarshal(raw: Buffer): Buffer | string {
  try {
    const doc = JSON.parse(raw.toString('utf8')) as { signed?: unknown; signatures?: Array<Record<string, unknown>> };
    if (!isObject(doc) || doc.signed === undefined) return raw;
    const signatures = (doc.signatures ?? []).map((s) => ({ keyid: s.keyid, method: s.method, sig: s.sig }));
    return JSON.stringify({ signed: doc.signed, signatures }).replace(/[<>&]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);
  } catch {
    return raw;
  }
}

export async function closeServers(): Promise<void> {
  await (await registry)?.close();
  await (await notationRegistry)?.close();
  await (await notary)?.close();
}

async function decide(doc: unknown, image: string): Promise<{ error?: string; decision?: { outcome: string; reason: string; digest?: string } }> {
  const loaded = loadDocument(doc);
  if (!loaded.config) return { error: `refused at load: ${loaded.error}` };
  const engine = new Engine(loaded.config, { logger: silentLogger });
  try {
    const { decision } = await engine.check(image, { signal: AbortSignal.timeout(20_000), deadline: Date.now() + 20_000, logger: silentLogger, now: () => new Date() });
    return { decision };
  } finally {
    await engine.close();
  }
}

function judge(c: Case, d: Awaited<ReturnType<typeof decide>>): Outcome {
  const e = c.expect as { digest?: string; error?: string; ok?: boolean };
  if (d.error) return { ok: false, detail: d.error };
  const got = d.decision!;
  const summary = `${got.outcome}: ${got.reason}${got.digest ? ` (${got.digest})` : ''}`;
  if (e.error !== undefined) return { ok: got.outcome === 'denied' && new RegExp(e.error, 'i').test(got.reason), detail: summary };
  if (got.outcome !== 'admitted') return { ok: false, detail: summary };
  if (e.digest !== undefined && got.digest !== e.digest) return { ok: false, detail: summary };
  return { ok: true, detail: summary };
}

/** op cosign: one vector of testdata/cosign, validated through a config with the case's rule. */
export async function opCosign(c: Case, v: Vectors): Promise<Outcome> {
  const reg = await cosignRegistry(v);
  const entry = v.document(c) as Record<string, unknown>;
  const doc = { validators: [entry], policy: [{ pattern: '*', validator: entry.name, with: c.rule }], insecureRegistries: [reg.host] };
  return judge(c, await decide(doc, `${reg.host}/${String(c.image)}`));
}

/** op notary: a notaryv1 validator of testdata/notaryv1 pointed at the Notary mock. */
export async function opNotary(c: Case, v: Vectors): Promise<Outcome> {
  const mock = await notaryMock(v);
  const entry: Record<string, unknown> = { ...(v.document(c) as Record<string, unknown>), host: mock.host, cert: mock.ca };
  const doc = { validators: [entry], policy: [{ pattern: '*', validator: entry.name, with: c.rule }] };
  return judge(c, await decide(doc, String(c.image)));
}

/** op lookup: the credentials a validator's auth block yields for an image (or for its Notary host). */
export function opLookup(c: Case, v: Vectors): Outcome {
  const e = c.expect as { username?: string; password?: string; none?: boolean };
  let auth = c.auth as Record<string, unknown> | undefined;
  let host: string | undefined;
  if (typeof c.validatorFile === 'string') {
    const entry = yaml.load(v.text(c.validatorFile)) as Record<string, unknown>;
    auth = entry.auth as Record<string, unknown>;
    if (c.notaryHost) host = String(entry.host);
  }
  if (!isObject(auth)) return { ok: false, detail: 'no auth block' };
  let found;
  try {
    const source = createCredentialSource({
      secretName: auth.secretName as string | undefined,
      username: auth.username as string | undefined,
      password: auth.password as string | undefined,
      secretsDir: typeof c.secrets === 'string' ? v.path(c.secrets) : undefined,
      // as the validator types pass them: Connaisseur's auth.registry is one registry; Notary's default is its host
      registries: auth.registry ? [String(auth.registry)] : host ? [host] : undefined,
      defaultRegistry: host,
    });
    if (host) found = source.lookup(typeof c.registry === 'string' ? c.registry : host, '');
    else {
      const ref = parseImageReference(String(c.image));
      found = source.lookup(ref.registry, ref.repository);
    }
  } catch (err) {
    return { ok: false, detail: `error: ${(err as Error).message}` };
  }
  if (e.none) return { ok: found === undefined, detail: found ? `sends ${found.username}` : 'no credentials' };
  return { ok: found?.username === e.username && found?.password === e.password, detail: found ? `user ${found.username}` : 'no credentials' };
}
