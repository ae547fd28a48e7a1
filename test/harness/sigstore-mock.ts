/**
 * A private Sigstore instance for tests: @sigstore/mock's Fulcio, Rekor and TSA handlers served on
 * real loopback HTTP servers, and keyless signing with @sigstore/sign against them (fake, unsigned OIDC
 * token: the mock Fulcio does not check it). Produces cosign's classic keyless signatures (annotations
 * certificate/chain/bundle) and Sigstore bundles, and the trust material to verify them offline.
 *
 * The handlers are imported from @sigstore/mock's submodules, not its index: the index loads `nock`,
 * which patches Node's http globally and would interfere with other tests in the same process.
 */
import { createHash, X509Certificate, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { Bundle } from '@sigstore/bundle';
import { DSSEBundleBuilder, FulcioSigner, MessageSignatureBundleBuilder, RekorWitness, TSAWitness, type Witness } from '@sigstore/sign';
import { fulcioHandler, initializeCA, initializeCTLog, type CA, type CTLog } from '@sigstore/mock/dist/fulcio/index.js';
import { initializeTLog, rekorHandler, type TLog } from '@sigstore/mock/dist/rekor/index.js';
import { initializeTSA, tsaHandler, type TSA } from '@sigstore/mock/dist/timestamp/index.js';
import type { Handler } from '@sigstore/mock/dist/shared.types.js';
import { signStatement, simpleSigningPayload, type ClassicLayer } from './cosign-signing.js';

type KeyPair = { publicKey: KeyObject; privateKey: KeyObject };
const ecKeys = (): KeyPair => generateKeyPairSync('ec', { namedCurve: 'P-256' });

/** Serves handlers (POST path → handler.fn(body)) on a loopback port. */
async function serve(handlers: Handler[]): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const handler = handlers.find((h) => h.path === (req.url ?? '').split('?')[0]);
      if (!handler || req.method !== 'POST') {
        res.writeHead(404).end();
        return;
      }
      handler.fn(Buffer.concat(chunks).toString('utf8')).then(({ statusCode, response, contentType }) => {
        res.writeHead(statusCode, { 'content-type': contentType ?? 'text/plain' });
        res.end(typeof response === 'string' ? response : Buffer.from(response.buffer, response.byteOffset, response.byteLength));
      }, (err: Error) => res.writeHead(500).end(err.message));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('no address');
  return { url: `http://127.0.0.1:${address.port}`, server };
}

const der = (v: ArrayBufferView): Buffer => Buffer.from(v.buffer, v.byteOffset, v.byteLength);
const pem = (d: Buffer): string => new X509Certificate(d).toString();
const spkiPem = (d: Buffer): string => `-----BEGIN PUBLIC KEY-----\n${d.toString('base64').match(/.{1,64}/g)!.join('\n')}\n-----END PUBLIC KEY-----\n`;

export interface SigstoreIdentity {
  subject: string;
  issuer: string;
}

/** A fake OIDC token (unsigned JWT) for `identity`. */
function token(identity: SigstoreIdentity): string {
  const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ iss: identity.issuer, sub: identity.subject, email: identity.subject, email_verified: true, aud: 'sigstore' })}.`;
}

export interface MockSigstore {
  fulcioUrl: string;
  rekorUrl: string;
  tsaUrl: string;
  ca: CA;
  tlog: TLog;
  ctlog: CTLog;
  tsa: TSA;
  /** Trusted root JSON for `host.trustedRoot` (Fulcio root, Rekor, CT log, TSA of this instance). */
  trustedRoot: Record<string, unknown>;
  /** PEM forms for `host.fulcioCert`, `host.rekorPubkey`, `host.ctLogPubkey`. */
  fulcioCertPem: string;
  rekorPubkeyPem: string;
  ctLogPubkeyPem: string;
  /** Keyless classic signature (cosign's annotations) of image `digest`. */
  classicKeyless(identity: SigstoreIdentity, digest: string, dockerReference: string, opts?: { tsa?: boolean; payload?: Buffer }): Promise<ClassicLayer>;
  /** Keyless Sigstore bundle: DSSE in-toto statement (cosign 3), Rekor entry and TSA timestamp. */
  dsseBundle(identity: SigstoreIdentity, digest: string): Promise<Bundle>;
  /** Keyless DSSE bundle over any in-toto statement (an attestation), with a Rekor intoto entry and a TSA timestamp. */
  attestationBundle(identity: SigstoreIdentity, statement: Buffer): Promise<Bundle>;
  /**
   * A keyless classic attestation: the DSSE envelope and the `.att` layer annotations (certificate, chain,
   * Rekor bundle of an intoto v0.0.2 entry, as `cosign attest --rekor-entry-type intoto` stores them).
   */
  classicAttestation(identity: SigstoreIdentity, statement: Buffer): Promise<{ envelope: Buffer; certificate: string; chain: string; rekorBundle: string }>;
  stop(): Promise<void>;
}

export interface MockSigstoreOptions {
  /** Use this CA keypair (a second instance with the same keys is the same CA). */
  caKeys?: KeyPair;
  /** Fulcio clock offset from the instance clock, in ms. */
  fulcioOffsetMs?: number;
}

/**
 * Starts Fulcio, Rekor and TSA on loopback with fresh keys. All clocks are pinned to one whole second a
 * little ahead (TSA gotcha: its certificates are made with the real time, truncated to seconds, and
 * must not start after the timestamps it issues; Fulcio certificates must cover the Rekor time).
 */
export async function startMockSigstore(options: MockSigstoreOptions = {}): Promise<MockSigstore> {
  const clock = new Date(Math.ceil(Date.now() / 1000) * 1000 + 2000);
  const servers: Server[] = [];
  const caKeys = options.caKeys ?? ecKeys();
  const ctlog = await initializeCTLog(ecKeys(), clock);
  const ca = await initializeCA(caKeys, ctlog, new Date(clock.getTime() + (options.fulcioOffsetMs ?? 0)));
  const fulcio = await serve([fulcioHandler(ca)]);
  servers.push(fulcio.server);
  // Rekor first: the checkpoint origin is its host:port and must equal the tlog baseUrl.
  const rekorHandlers: Handler[] = [];
  const rekor = await serve(rekorHandlers);
  servers.push(rekor.server);
  const tlog = await initializeTLog(rekor.url, ecKeys(), clock);
  rekorHandlers.push(rekorHandler(tlog));
  const tsa = await initializeTSA(ecKeys(), clock);
  const tsaServer = await serve([tsaHandler(tsa)]);
  servers.push(tsaServer.server);

  const epoch = '1970-01-01T00:00:00Z';
  const ctKey = der(ctlog.publicKey);
  const trustedRoot = {
    mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
    tlogs: [{ baseUrl: rekor.url, hashAlgorithm: 'SHA2_256', publicKey: { rawBytes: tlog.publicKey.toString('base64'), keyDetails: 'PKIX_ECDSA_P256_SHA_256', validFor: { start: epoch } }, logId: { keyId: createHash('sha256').update(tlog.publicKey).digest('base64') } }],
    certificateAuthorities: [{ subject: { organization: 'mock', commonName: 'mock' }, uri: fulcio.url, certChain: { certificates: [{ rawBytes: der(ca.rootCertificate).toString('base64') }] }, validFor: { start: epoch } }],
    ctlogs: [{ baseUrl: 'https://ctfe.mock', hashAlgorithm: 'SHA2_256', publicKey: { rawBytes: ctKey.toString('base64'), keyDetails: 'PKIX_ECDSA_P256_SHA_256', validFor: { start: epoch } }, logId: { keyId: der(ctlog.logID).toString('base64') } }],
    timestampAuthorities: [{ subject: { organization: 'mock', commonName: 'tsa' }, uri: tsaServer.url, certChain: { certificates: [der(tsa.intCertificate), der(tsa.rootCertificate)].map((c) => ({ rawBytes: c.toString('base64') })) }, validFor: { start: epoch } }],
  };

  const fulcioSigner = (identity: SigstoreIdentity) => new FulcioSigner({ fulcioBaseURL: fulcio.url, identityProvider: { getToken: async () => token(identity) }, retry: 0, timeout: 5000 });
  const rekorWitness = (entryType?: 'intoto') => new RekorWitness({ rekorBaseURL: rekor.url, entryType, retry: 0, timeout: 5000 });
  const tsaWitness = () => new TSAWitness({ tsaBaseURL: tsaServer.url, retry: 0, timeout: 5000 });

  const self: MockSigstore = {
    fulcioUrl: fulcio.url,
    rekorUrl: rekor.url,
    tsaUrl: tsaServer.url,
    ca, tlog, ctlog, tsa, trustedRoot,
    fulcioCertPem: pem(der(ca.rootCertificate)),
    rekorPubkeyPem: spkiPem(tlog.publicKey),
    ctLogPubkeyPem: spkiPem(ctKey),
    async classicKeyless(identity, digest, dockerReference, opts = {}) {
      const payload = opts.payload ?? simpleSigningPayload(digest, dockerReference);
      const witnesses: Witness[] = [rekorWitness(), ...(opts.tsa ? [tsaWitness()] : [])];
      const bundle = await new MessageSignatureBundleBuilder({ signer: fulcioSigner(identity), witnesses }).create({ data: payload });
      if (bundle.content.$case !== 'messageSignature') throw new Error('unexpected bundle');
      const vm = bundle.verificationMaterial.content;
      const cert = vm.$case === 'certificate' ? der(vm.certificate.rawBytes) : vm.$case === 'x509CertificateChain' ? der(vm.x509CertificateChain.certificates[0]!.rawBytes) : undefined;
      if (!cert) throw new Error('no certificate');
      const entry = bundle.verificationMaterial.tlogEntries[0]!;
      return {
        payload,
        signature: der(bundle.content.messageSignature.signature).toString('base64'),
        certificate: pem(cert),
        chain: pem(der(ca.rootCertificate)),
        rekorBundle: JSON.stringify({
          SignedEntryTimestamp: der(entry.inclusionPromise!.signedEntryTimestamp).toString('base64'),
          Payload: { body: der(entry.canonicalizedBody).toString('base64'), integratedTime: Number(entry.integratedTime), logIndex: Number(entry.logIndex), logID: der(entry.logId!.keyId).toString('hex') },
        }),
      };
    },
    async dsseBundle(identity, digest) {
      return new DSSEBundleBuilder({ signer: fulcioSigner(identity), witnesses: [rekorWitness('intoto'), tsaWitness()] })
        .create({ data: signStatement(digest), type: 'application/vnd.in-toto+json' });
    },
    async attestationBundle(identity, statement) {
      return new DSSEBundleBuilder({ signer: fulcioSigner(identity), witnesses: [rekorWitness('intoto'), tsaWitness()] })
        .create({ data: statement, type: 'application/vnd.in-toto+json' });
    },
    async classicAttestation(identity, statement) {
      const bundle = await new DSSEBundleBuilder({ signer: fulcioSigner(identity), witnesses: [rekorWitness('intoto')] })
        .create({ data: statement, type: 'application/vnd.in-toto+json' });
      if (bundle.content.$case !== 'dsseEnvelope') throw new Error('unexpected bundle');
      const env = bundle.content.dsseEnvelope;
      const vm = bundle.verificationMaterial.content;
      const cert = vm.$case === 'certificate' ? der(vm.certificate.rawBytes) : vm.$case === 'x509CertificateChain' ? der(vm.x509CertificateChain.certificates[0]!.rawBytes) : undefined;
      if (!cert) throw new Error('no certificate');
      const entry = bundle.verificationMaterial.tlogEntries[0]!;
      return {
        envelope: Buffer.from(JSON.stringify({ payloadType: env.payloadType, payload: der(env.payload).toString('base64'), signatures: env.signatures.map((s) => ({ keyid: s.keyid, sig: der(s.sig).toString('base64') })) })),
        certificate: pem(cert),
        chain: pem(der(ca.rootCertificate)),
        rekorBundle: JSON.stringify({
          SignedEntryTimestamp: der(entry.inclusionPromise!.signedEntryTimestamp).toString('base64'),
          Payload: { body: der(entry.canonicalizedBody).toString('base64'), integratedTime: Number(entry.integratedTime), logIndex: Number(entry.logIndex), logID: der(entry.logId!.keyId).toString('hex') },
        }),
      };
    },
    async stop() {
      await Promise.all(servers.map((s) => new Promise<void>((resolve) => {
        s.closeAllConnections();
        s.close(() => resolve());
      })));
    },
  };
  return self;
}
