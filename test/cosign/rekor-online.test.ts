/**
 * Online transparency log lookup (`host.rekor` + `with.onlineTransparencyLog: true`), end to end:
 * key-based classic signatures logged in @sigstore/mock's Rekor (a real loopback HTTP server) are pushed
 * to the real docker-registry WITHOUT their Rekor bundle annotation; a small loopback "Rekor lookup
 * front" in this file serves the two Rekor read endpoints the validator uses, filled from the real
 * entries (taken from the Rekor bundle that would otherwise have been pushed). The front counts every
 * request and can hang or serve tampered / unrelated entries.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { expect } from 'chai';
import { parseImageReference } from '../../src/image/reference.js';
import type { ValidatorConfig } from '../../src/config/types.js';
import { REKOR_TIMEOUT_MS } from '../../src/validators/cosign/rekor-online.js';
import { cosignSign, generateTestKey, pushClassicSignatures, simpleSigningPayload, type ClassicLayer } from '../harness/cosign-signing.js';
import { startMockSigstore, type MockSigstore } from '../harness/sigstore-mock.js';
import { startRegistry, type TestRegistry } from '../harness/registry.js';
import { closeValidators, ctx, createValidator, denial, recordOf, rule } from './helpers.js';

/** An entry as Rekor's `GET /api/v1/log/entries/<uuid>` returns it. */
interface RekorEntry {
  body: string;
  integratedTime: number;
  logIndex: number;
  logID: string;
  verification: { signedEntryTimestamp: string };
}

interface RekorLookupFront {
  url: string;
  /** payload hash (`sha256:<hex>`) → entry UUIDs, as `POST /api/v1/index/retrieve` answers. */
  index: Map<string, string[]>;
  entries: Map<string, RekorEntry>;
  /** Never answer (requests are still counted). */
  hang: boolean;
  /** Every request received, in order: `POST /api/v1/index/retrieve sha256:…` or `GET /api/v1/log/entries/<uuid>`. */
  requests: string[];
  stop(): Promise<void>;
}

async function startRekorLookupFront(): Promise<RekorLookupFront> {
  const front: Omit<RekorLookupFront, 'url' | 'stop'> = { index: new Map(), entries: new Map(), hang: false, requests: [] };
  const json = (res: ServerResponse, status: number, doc: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(doc));
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = (req.url ?? '').split('?')[0]!;
      let hash: unknown;
      if (req.method === 'POST' && path === '/api/v1/index/retrieve') {
        try {
          hash = (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { hash?: unknown }).hash;
        } catch {
          hash = undefined;
        }
        front.requests.push(`POST ${path} ${String(hash)}`);
      } else {
        front.requests.push(`${req.method} ${path}`);
      }
      if (front.hang) return; // the connection stays open until stop()
      if (req.method === 'POST' && path === '/api/v1/index/retrieve') {
        if (typeof hash !== 'string') return json(res, 400, { message: 'hash required' });
        return json(res, 200, front.index.get(hash) ?? []);
      }
      const m = /^\/api\/v1\/log\/entries\/([0-9a-f]+)$/.exec(path);
      const entry = m && req.method === 'GET' ? front.entries.get(m[1]!) : undefined;
      if (!entry) return json(res, 404, { code: 404, message: 'entry not found' });
      return json(res, 200, { [m![1]!]: entry });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('no address');
  return Object.assign(front, {
    url: `http://127.0.0.1:${address.port}`,
    stop: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  });
}

/** Rekor's entry UUID: the Merkle leaf hash of the canonicalized body. */
const leafUuid = (bodyBase64: string) => createHash('sha256').update(Buffer.concat([Buffer.from([0]), Buffer.from(bodyBase64, 'base64')])).digest('hex');
const payloadHash = (payload: Buffer) => `sha256:${createHash('sha256').update(payload).digest('hex')}`;

/** The log entry in cosign's Rekor bundle annotation, in the shape of Rekor's entry API. */
function entryOfRekorBundle(rekorBundle: string): { uuid: string; entry: RekorEntry } {
  const rb = JSON.parse(rekorBundle) as { SignedEntryTimestamp: string; Payload: { body: string; integratedTime: number; logIndex: number; logID: string } };
  const { body, integratedTime, logIndex, logID } = rb.Payload;
  return { uuid: leafUuid(body), entry: { body, integratedTime, logIndex, logID, verification: { signedEntryTimestamp: rb.SignedEntryTimestamp } } };
}

describe('cosign validator: online Rekor lookup (mock Rekor and a Rekor lookup front on loopback, real registry)', function () {
  this.timeout(60_000);
  const key = generateTestKey('ecdsa-p256');
  let registry: TestRegistry;
  let sigstore: MockSigstore;
  let front: RekorLookupFront;

  const image = (repo: string) => parseImageReference(`${registry.host}/${repo}:v1`);
  const config = (): ValidatorConfig => ({
    name: 'online', type: 'cosign',
    host: { rekor: front.url, rekorPubkey: sigstore.rekorPubkeyPem },
    trustRoots: [{ name: 'alice', key: key.publicPem }],
  });
  const onlineRule = (extra: Record<string, unknown> = {}) => rule('alice', { onlineTransparencyLog: true, ...extra });

  /** Signs `payload` with the key and logs it in the mock Rekor over HTTP, as cosign sign does. */
  async function signAndLog(payload: Buffer, opts: { signature?: string; loggedKeyPem?: string } = {}): Promise<Required<Pick<ClassicLayer, 'payload' | 'signature' | 'rekorBundle'>>> {
    const signature = opts.signature ?? cosignSign(key, payload).toString('base64');
    const res = await fetch(`${sigstore.rekorUrl}/api/v1/log/entries`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        apiVersion: '0.0.1', kind: 'hashedrekord',
        spec: { data: { hash: { algorithm: 'sha256', value: payloadHash(payload).slice(7) } }, signature: { content: signature, publicKey: { content: Buffer.from(opts.loggedKeyPem ?? key.publicPem).toString('base64') } } },
      }),
    });
    expect(res.status, 'mock Rekor accepted the entry').to.equal(201);
    const e = Object.values(await res.json() as Record<string, RekorEntry>)[0]!;
    const rekorBundle = JSON.stringify({ SignedEntryTimestamp: e.verification.signedEntryTimestamp, Payload: { body: e.body, integratedTime: e.integratedTime, logIndex: e.logIndex, logID: e.logID } });
    return { payload, signature, rekorBundle };
  }

  /**
   * Pushes an image and its key-based classic signature WITHOUT the Rekor bundle annotation; the entry
   * (from the bundle that was not pushed) is returned for the front.
   */
  async function pushUnbundled(repo: string) {
    const img = await registry.pushRandomImage(repo, 'v1');
    const logged = await signAndLog(simpleSigningPayload(img.digest, `${registry.host}/${repo}`));
    await pushClassicSignatures(registry, repo, img.digest, [{ payload: logged.payload, signature: logged.signature }]);
    return { img, logged, hash: payloadHash(logged.payload), ...entryOfRekorBundle(logged.rekorBundle) };
  }

  before(async () => {
    [registry, sigstore, front] = await Promise.all([startRegistry(), startMockSigstore(), startRekorLookupFront()]);
  });
  beforeEach(() => {
    front.index.clear();
    front.entries.clear();
    front.hang = false;
    front.requests.length = 0;
  });
  after(async () => {
    await closeValidators();
    await Promise.all([registry?.stop(), sigstore?.stop(), front?.stop()]);
  });

  it('admits a signature without Rekor bundle whose entry is found online, and records the lookup', async () => {
    const { img, hash, uuid, entry } = await pushUnbundled('online/ok');
    front.index.set(hash, [uuid]);
    front.entries.set(uuid, entry);
    const v = createValidator(config(), [registry.host]);
    const outcome = await v.validate(image('online/ok'), onlineRule({ verifyInTransparencyLog: true }), ctx());
    expect(outcome.digest).to.equal(img.digest);
    expect(recordOf(outcome).verification).to.include({ verifyInTransparencyLog: true, onlineTransparencyLog: true });
    expect(recordOf(outcome).trustRoots[0]!.verifiedBy[0]).to.match(/\(ecdsa-sha256, in transparency log\)$/);
    expect(front.requests).to.deep.equal([`POST /api/v1/index/retrieve ${hash}`, `GET /api/v1/log/entries/${uuid}`]);
    // Control: the same signature and front, but offline (host.rekor without onlineTransparencyLog) is denied.
    const err = await denial(v.validate(image('online/ok'), rule('alice'), ctx()));
    expect(err.details.record.trustRoots[0]!.reason).to.include('transparency log entry invalid: the signature has no Rekor bundle');
  });

  it('onlineTransparencyLog false: denied for want of a transparency log entry, and Rekor is not asked', async () => {
    const { hash, uuid, entry } = await pushUnbundled('online/off');
    front.index.set(hash, [uuid]);
    front.entries.set(uuid, entry);
    const err = await denial(createValidator(config(), [registry.host]).validate(image('online/off'), onlineRule({ onlineTransparencyLog: false }), ctx()));
    expect(err.code).to.equal('SIGNATURE_INVALID');
    expect(err.details.record.verification).to.include({ verifyInTransparencyLog: true, onlineTransparencyLog: false });
    expect(err.details.record.trustRoots[0]!.reason).to.match(/signed by this key, but transparency log entry invalid: the signature has no Rekor bundle/);
    expect(front.requests).to.deep.equal([]);
  });

  it('verifyInTransparencyLog false: admitted without asking Rekor (nothing to look up for)', async () => {
    const { img } = await pushUnbundled('online/no-tlog');
    const outcome = await createValidator(config(), [registry.host]).validate(image('online/no-tlog'), onlineRule({ verifyInTransparencyLog: false }), ctx());
    expect(outcome.digest).to.equal(img.digest);
    expect(front.requests).to.deep.equal([]);
  });

  it('denies an entry whose SignedEntryTimestamp was tampered with', async () => {
    const { hash, uuid, entry } = await pushUnbundled('online/tampered-set');
    const set = Buffer.from(entry.verification.signedEntryTimestamp, 'base64');
    set[set.length - 5] ^= 0x01; // inside the ECDSA signature
    front.index.set(hash, [uuid]);
    front.entries.set(uuid, { ...entry, verification: { signedEntryTimestamp: set.toString('base64') } });
    const err = await denial(createValidator(config(), [registry.host]).validate(image('online/tampered-set'), onlineRule(), ctx()));
    expect(err.details.record.trustRoots[0]!.reason).to.match(/signed by this key, but transparency log entry invalid: inclusion promise could not be verified/);
    expect(front.requests).to.deep.equal([`POST /api/v1/index/retrieve ${hash}`, `GET /api/v1/log/entries/${uuid}`]);
  });

  it('denies an entry whose integrated time was changed (the SET no longer covers it)', async () => {
    const { hash, uuid, entry } = await pushUnbundled('online/tampered-time');
    front.index.set(hash, [uuid]);
    front.entries.set(uuid, { ...entry, integratedTime: entry.integratedTime - 3600 });
    const err = await denial(createValidator(config(), [registry.host]).validate(image('online/tampered-time'), onlineRule(), ctx()));
    expect(err.details.record.trustRoots[0]!.reason).to.match(/transparency log entry invalid: inclusion promise could not be verified/);
    expect(front.requests).to.have.length(2);
  });

  it('a hanging Rekor: denied after the Rekor timeout, with the lookup failure as reason', async () => {
    const { hash } = await pushUnbundled('online/hang');
    front.hang = true;
    const started = Date.now();
    const err = await denial(createValidator(config(), [registry.host]).validate(image('online/hang'), onlineRule(), ctx(20_000)));
    const elapsed = Date.now() - started;
    expect(elapsed).to.be.at.least(REKOR_TIMEOUT_MS - 100);
    expect(elapsed).to.be.below(REKOR_TIMEOUT_MS + 1500);
    expect(err.code).to.equal('SIGNATURE_INVALID');
    expect(err.details.record.trustRoots[0]!.reason).to.match(new RegExp(`transparency log entry invalid: the signature has no Rekor bundle and the lookup in Rekor ${front.url.replace(/[.]/g, '\\.')}/ failed \\(timed out after ${REKOR_TIMEOUT_MS / 1000} s\\)`));
    expect(front.requests).to.deep.equal([`POST /api/v1/index/retrieve ${hash}`]);
  });

  it('a hanging Rekor within a shorter admission deadline: denied when the deadline passes', async () => {
    await pushUnbundled('online/hang-deadline');
    front.hang = true;
    const started = Date.now();
    const err = await denial(createValidator(config(), [registry.host]).validate(image('online/hang-deadline'), onlineRule(), ctx(1500)));
    const elapsed = Date.now() - started;
    expect(elapsed).to.be.below(1500 + 1000);
    expect(err.details.record.trustRoots[0]!.reason).to.match(/the lookup in Rekor .* failed \(the admission deadline passed\)/);
    expect(front.requests).to.have.length(1);
  });

  it('denies when Rekor only has an entry for another signature of the same payload; admits once the right one is listed too', async () => {
    const { img, logged, hash, uuid, entry } = await pushUnbundled('online/other-sig');
    // The same payload, signed again with the same key (ECDSA: another signature) and logged: same hash, other entry.
    const other = entryOfRekorBundle((await signAndLog(logged.payload)).rekorBundle);
    expect(other.uuid).to.not.equal(uuid);
    front.index.set(hash, [other.uuid]);
    front.entries.set(other.uuid, other.entry);
    front.entries.set(uuid, entry);
    const v = createValidator(config(), [registry.host]);
    const err = await denial(v.validate(image('online/other-sig'), onlineRule(), ctx()));
    expect(err.details.record.trustRoots[0]!.reason).to.match(/transparency log entry invalid: the signature has no Rekor bundle and Rekor http:\/\/127\.0\.0\.1:\d+\/ has no entry for it/);
    expect(front.requests).to.deep.equal([`POST /api/v1/index/retrieve ${hash}`, `GET /api/v1/log/entries/${other.uuid}`]);

    front.requests.length = 0;
    front.index.set(hash, [other.uuid, uuid]);
    expect((await v.validate(image('online/other-sig'), onlineRule(), ctx())).digest).to.equal(img.digest);
    expect(front.requests).to.deep.equal([`POST /api/v1/index/retrieve ${hash}`, `GET /api/v1/log/entries/${other.uuid}`, `GET /api/v1/log/entries/${uuid}`]);
  });

  it('denies an entry naming this signature but another key (genuine SET: the log accepted a false claim)', async () => {
    const { logged, hash } = await pushUnbundled('online/other-key');
    // The mock Rekor, like a compromised or careless log, logs this signature under another public key.
    const claim = entryOfRekorBundle((await signAndLog(logged.payload, { signature: logged.signature, loggedKeyPem: generateTestKey('ecdsa-p256').publicPem })).rekorBundle);
    front.index.set(hash, [claim.uuid]);
    front.entries.set(claim.uuid, claim.entry);
    const err = await denial(createValidator(config(), [registry.host]).validate(image('online/other-key'), onlineRule(), ctx()));
    expect(err.details.record.trustRoots[0]!.reason).to.equal(`${err.details.record.trustRoots[0]!.attempts[0]!.signature}: signed by this key, but transparency log entry invalid: the logged entry names another key`);
    expect(front.requests).to.deep.equal([`POST /api/v1/index/retrieve ${hash}`, `GET /api/v1/log/entries/${claim.uuid}`]);
  });

  it('keyless classic signature without Rekor bundle: admitted when found online, otherwise denied naming the lookup', async () => {
    const ALICE = { subject: 'alice@example.com', issuer: 'https://accounts.example.com' };
    const repo = 'online/keyless';
    const img = await registry.pushRandomImage(repo, 'v1');
    const layer = await sigstore.classicKeyless(ALICE, img.digest, `${registry.host}/${repo}`);
    await pushClassicSignatures(registry, repo, img.digest, [{ ...layer, rekorBundle: undefined }]);
    const v = createValidator({
      name: 'online-keyless', type: 'cosign', host: { rekor: front.url, trustedRoot: JSON.stringify(sigstore.trustedRoot) },
      trustRoots: [{ name: 'alice', keyless: { issuer: ALICE.issuer, subject: ALICE.subject } }],
    }, [registry.host]);
    const hash = payloadHash(layer.payload);
    const err = await denial(v.validate(image(repo), onlineRule(), ctx()));
    expect(err.details.record.trustRoots[0]!.attempts[0]!.reason).to.equal(`transparency log entry invalid: the signature has no transparency log entry (Rekor ${front.url}/ has no entry for it)`);
    expect(front.requests).to.deep.equal([`POST /api/v1/index/retrieve ${hash}`]);

    const { uuid, entry } = entryOfRekorBundle(layer.rekorBundle!);
    front.index.set(hash, [uuid]);
    front.entries.set(uuid, entry);
    const outcome = await v.validate(image(repo), onlineRule(), ctx());
    expect(recordOf(outcome).trustRoots[0]!.attempts[0]!).to.include({ verified: true });
    expect(front.requests).to.have.length(3);
  });

  it('denies an entry of another image\'s signature served under this payload hash (the SET is genuine, the body names another signature)', async () => {
    const { hash } = await pushUnbundled('online/foreign');
    const foreign = await pushUnbundled('online/foreign-source');
    // A lying front: the genuine entry of another image, returned for this image's payload hash.
    front.index.set(hash, [foreign.uuid]);
    front.entries.set(foreign.uuid, foreign.entry);
    const err = await denial(createValidator(config(), [registry.host]).validate(image('online/foreign'), onlineRule(), ctx()));
    expect(err.details.record.trustRoots[0]!.reason).to.match(/transparency log entry invalid: the signature has no Rekor bundle and Rekor .* has no entry for it/);
    expect(front.requests).to.deep.equal([`POST /api/v1/index/retrieve ${hash}`, `GET /api/v1/log/entries/${foreign.uuid}`]);
  });
});
