import { expect } from 'chai';
import { Agent, request } from 'undici';
import { startNotaryServer, type NotaryServer } from '../harness/notary.js';
import type { Validator } from '../../src/validators/types.js';
import { ctx, denied, digest, notaryValidator, ref, rule } from './helpers.js';
import { D, GUN, publishScenarios, type Published } from './scenarios.js';

async function tufJson(server: NotaryServer, gun: string, role: string): Promise<{ signed: Record<string, unknown> }> {
  const dispatcher = new Agent({ connect: { ca: server.certs.caPem } });
  try {
    const res = await request(`${server.url}/v2/${gun}/_trust/tuf/${role}.json`, { dispatcher });
    return (await res.body.json()) as { signed: Record<string, unknown> };
  } finally {
    await dispatcher.close();
  }
}

for (const signer of ['local', 'remote'] as const) {
  describe(`notaryv1 validator against real notary-server (${signer === 'local' ? 'in-process signer' : 'notary-signer over mutual TLS'})`, function () {
    this.timeout(120_000);
    let server: NotaryServer;
    let pub: Published;
    let v: Validator;

    before(async () => {
      server = await startNotaryServer(signer);
      pub = await publishScenarios(server);
      v = notaryValidator(server.host, server.certs.caPem, [{ name: 'default', key: pub.root.publicPem }]);
    });
    after(async () => {
      await v?.close?.();
      await server?.stop();
    });

    it('uses the expected server-managed key types (ed25519 in-process, ecdsa with notary-signer)', async () => {
      const root = await tufJson(server, GUN.plain, 'root');
      const keys = root.signed.keys as Record<string, { keytype: string }>;
      const roles = root.signed.roles as Record<string, { keyids: string[] }>;
      expect(keys[roles.timestamp!.keyids[0]!]!.keytype).to.equal(signer === 'local' ? 'ed25519' : 'ecdsa');
      expect(keys[roles.root!.keyids[0]!]!.keytype).to.equal('ecdsa-x509');
    });

    it('admits a signed tag and returns the signed digest', async () => {
      const out = await v.validate(ref(GUN.plain, '3.19'), rule(), ctx());
      expect(out.digest).to.equal(D.plain319);
      expect(out.details.trustRoots).to.deep.equal([{ name: 'default', verified: true, found: D.plain319 }]);
      expect(out.details.summary).to.contain(D.plain319);
      const edge = await v.validate(ref(GUN.plain, 'edge'), rule(), ctx());
      expect(edge.digest).to.equal(D.plainEdge);
    });

    it('denies an unsigned tag', async () => {
      await denied(v.validate(ref(GUN.plain, 'nope'), rule(), ctx()), 'NOTARY_TAG_NOT_SIGNED', 'tag nope not signed in targets');
    });

    it('denies a repository without trust data', async () => {
      await denied(
        v.validate(ref('docker.io/library/unsigned', '1.0'), rule(), ctx()),
        'NOTARY_NO_TRUST_DATA',
        `no trust data for docker.io/library/unsigned on ${server.host}`,
      );
    });

    it('denies when root.json is not signed by the pinned key', async () => {
      const wrong = notaryValidator(server.host, server.certs.caPem, [{ name: 'other', key: pub.other.publicPem }]);
      try {
        const e = await denied(wrong.validate(ref(GUN.plain, '3.19'), rule({ trustRoot: 'other' }), ctx()), 'NOTARY_ROOT_UNTRUSTED', 'root.json not signed by pinned key "other"');
        const record = e.details?.record as { trustRoots: Array<{ name: string; verified: boolean }> };
        expect(record.trustRoots).to.deep.include({ name: 'other', verified: false, reason: 'the pinned key is not a root key of this repository' });
      } finally {
        await wrong.close?.();
      }
    });

    it('verifies a repository whose pinned root key is RSA (rsa-x509, rsapss)', async () => {
      const rsa = notaryValidator(server.host, server.certs.caPem, [
        { name: 'default', key: pub.root.publicPem },
        { name: 'rsa', key: pub.rsaRoot.publicPem },
      ]);
      try {
        expect((await rsa.validate(ref(GUN.rsa, '1.0'), rule({ trustRoot: 'rsa' }), ctx())).digest).to.equal(D.rsa);
        await denied(rsa.validate(ref(GUN.rsa, '1.0'), rule(), ctx()), 'NOTARY_ROOT_UNTRUSTED', 'root.json not signed by pinned key "default"');
      } finally {
        await rsa.close?.();
      }
    });

    it('trustRoot "*" admits when any pinned root key signed root.json; a named root selects only that key', async () => {
      const multi = notaryValidator(server.host, server.certs.caPem, [
        { name: 'other', key: pub.other.publicPem },
        { name: 'default', key: pub.root.publicPem },
      ]);
      try {
        const out = await multi.validate(ref(GUN.plain, '3.19'), rule({ trustRoot: '*' }), ctx());
        expect(out.digest).to.equal(D.plain319);
        expect(out.details.trustRoots?.map((t) => [t.name, t.verified])).to.deep.equal([['other', false], ['default', true]]);
        await denied(multi.validate(ref(GUN.plain, '3.19'), rule({ trustRoot: 'other' }), ctx()), 'NOTARY_ROOT_UNTRUSTED', 'root.json not signed by pinned key "other"');
      } finally {
        await multi.close?.();
      }
    });

    it('denies once the timestamp has expired (injected clock)', async () => {
      const ts = await tufJson(server, GUN.plain, 'timestamp');
      const expires = new Date(ts.signed.expires as string);
      const justBefore = new Date(expires.getTime() - 60_000);
      expect((await v.validate(ref(GUN.plain, '3.19'), rule(), ctx({ now: justBefore }))).digest).to.equal(D.plain319);
      const after = new Date(expires.getTime() + 1000);
      await denied(v.validate(ref(GUN.plain, '3.19'), rule(), ctx({ now: after })), 'NOTARY_EXPIRED', `timestamp expired at ${expires.toISOString()}`);
    });

    it('checks a tag+digest reference against the signed digest', async () => {
      expect((await v.validate(ref(GUN.plain, '3.19', D.plain319), rule(), ctx())).digest).to.equal(D.plain319);
      await denied(v.validate(ref(GUN.plain, '3.19', D.plainEdge), rule(), ctx()), 'NOTARY_DIGEST_MISMATCH', 'signed digest differs from the requested digest');
    });

    it('admits a digest-only reference only when the digest is among the signed targets', async () => {
      expect((await v.validate(ref(GUN.plain, undefined, D.plainEdge), rule(), ctx())).digest).to.equal(D.plainEdge);
      await denied(v.validate(ref(GUN.plain, undefined, digest('ee')), rule(), ctx()), 'NOTARY_TAG_NOT_SIGNED', `digest ${digest('ee')} not signed in targets`);
    });

    it('resolves tags through targets/releases when that delegation exists', async () => {
      const out = await v.validate(ref(GUN.delegated, 'v1'), rule(), ctx());
      expect(out.digest).to.equal(D.v1);
      expect(out.details.roles).to.deep.equal(['targets/releases']);
      await denied(v.validate(ref(GUN.delegated, 'top-only'), rule(), ctx()), 'NOTARY_TAG_NOT_SIGNED', 'tag top-only not signed in targets/releases');
    });

    it('admits when every required delegation signed the tag with the same digest', async () => {
      const out = await v.validate(ref(GUN.delegated, 'v1'), rule({ delegations: ['qa', 'targets/releases'] }), ctx());
      expect(out.digest).to.equal(D.v1);
      expect(out.details.roles).to.deep.equal(['targets/qa', 'targets/releases']);
    });

    it('denies when a required delegation did not sign the tag', async () => {
      await denied(v.validate(ref(GUN.delegated, 'v2'), rule({ delegations: ['qa'] }), ctx()), 'NOTARY_DELEGATION_MISSING', 'delegation targets/qa did not sign v2');
      await denied(v.validate(ref(GUN.delegated, 'v1'), rule({ delegations: ['nosuch'] }), ctx()), 'NOTARY_DELEGATION_MISSING', 'delegation targets/nosuch did not sign v1');
    });

    it('denies when a required delegation signed a different digest than releases', async () => {
      const e = await denied(v.validate(ref(GUN.delegated, 'v1'), rule({ delegations: ['dev'] }), ctx()), 'NOTARY_CONFLICTING_DIGESTS');
      expect(e.message).to.equal(`tag v1 is signed with different digests: targets/dev signed ${D.devV1}, targets/releases signed ${D.v1}`);
    });

    it('denies when two required delegations disagree', async () => {
      const e = await denied(v.validate(ref(GUN.delegated, 'v1'), rule({ delegations: ['qa', 'dev'] }), ctx()), 'NOTARY_CONFLICTING_DIGESTS');
      expect(e.message).to.contain(`targets/qa signed ${D.v1}`).and.to.contain(`targets/dev signed ${D.devV1}`);
    });

    it('denies a tag that targets and targets/releases sign with different digests', async () => {
      await denied(
        v.validate(ref(GUN.conflict, 'v1'), rule(), ctx()),
        'NOTARY_CONFLICTING_DIGESTS',
        `tag v1 is signed with different digests: targets/releases signed ${D.conflictReleases}, targets signed ${D.conflictTargets}`,
      );
    });

    it('denies a digest-only reference that a required delegation did not sign', async () => {
      expect((await v.validate(ref(GUN.delegated, undefined, D.v1), rule({ delegations: ['qa'] }), ctx())).digest).to.equal(D.v1);
      await denied(v.validate(ref(GUN.delegated, undefined, D.v2), rule({ delegations: ['qa'] }), ctx()), 'NOTARY_DELEGATION_MISSING', `delegation targets/qa did not sign ${D.v2}`);
    });
  });
}
