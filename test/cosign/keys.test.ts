import { generateKeyPairSync, sign } from 'node:crypto';
import { expect } from 'chai';
import { parsePublicKey, verifyWithKey, type TrustedKey } from '../../src/validators/cosign/keys.js';

function pair(curve: string): { priv: ReturnType<typeof generateKeyPairSync>['privateKey']; trusted: TrustedKey } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: curve });
  const parsed = parsePublicKey(publicKey.export({ type: 'spki', format: 'pem' }) as string);
  if (!parsed.ok) throw new Error(parsed.message);
  return { priv: privateKey, trusted: parsed.key };
}

describe('cosign keys', () => {
  const data = Buffer.from('payload');

  it('accepts P-384 signatures over SHA-384 (current cosign) and SHA-256 (older cosign)', () => {
    const { priv, trusted } = pair('P-384');
    expect(trusted.description).to.equal('ECDSA P-384');
    expect(verifyWithKey(trusted, data, sign('sha384', data, priv))).to.equal('ecdsa-sha384');
    expect(verifyWithKey(trusted, data, sign('sha256', data, priv))).to.equal('ecdsa-sha256');
  });

  it('refuses a P-256 signature over SHA-1 and a raw r||s signature (cosign writes ASN.1 DER)', () => {
    const { priv, trusted } = pair('P-256');
    expect(verifyWithKey(trusted, data, sign('sha1', data, priv))).to.equal(undefined);
    expect(verifyWithKey(trusted, data, sign('sha256', data, { key: priv, dsaEncoding: 'ieee-p1363' }))).to.equal(undefined);
  });

  it('never throws on garbage signatures', () => {
    const { trusted } = pair('P-256');
    for (const sig of [Buffer.alloc(0), Buffer.from('not a signature'), Buffer.alloc(512, 0xff)]) {
      expect(verifyWithKey(trusted, data, sig)).to.equal(undefined);
    }
  });

  it('a signature over other data does not verify', () => {
    const { priv, trusted } = pair('P-256');
    expect(verifyWithKey(trusted, Buffer.from('payload!'), sign('sha256', data, priv))).to.equal(undefined);
  });
});
