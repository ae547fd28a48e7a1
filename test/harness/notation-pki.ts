/**
 * Certificates for Notary Project signing tests, made with `openssl` (explicit validity dates through
 * `openssl ca`): code-signing roots, intermediates and leaves, and a timestamping (TSA) chain.
 * Each certificate is written as PEM next to its key.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir } from './temp-dirs.js';

export interface TestCertificate {
  name: string;
  certPath: string;
  keyPath: string;
  certPem: string;
  /** Issuer (undefined for a self-signed certificate). */
  issuer?: TestCertificate;
}

export type KeySpec = 'ec256' | 'ec384' | 'rsa2048' | 'rsa3072';

export interface CertificateOptions {
  /** Subject in OpenSSL's `/C=US/ST=WA/O=…/CN=…` form. */
  subject: string;
  /** Issuing certificate; omitted: self-signed. */
  issuer?: TestCertificate;
  /** `ca` (root or intermediate), `leaf` (code signing), `tsa` (timestamping leaf), `selfSignedLeaf` (what `notation cert generate-test` makes). */
  profile: 'ca' | 'leaf' | 'tsa' | 'selfSignedLeaf' | 'serverLeaf';
  key?: KeySpec;
  notBefore?: Date;
  notAfter?: Date;
  /** Extra extension lines for the OpenSSL extension section (e.g. a CRL distribution point). */
  extraExtensions?: string[];
}

const PROFILES: Record<CertificateOptions['profile'], string[]> = {
  ca: ['basicConstraints = critical, CA:TRUE', 'keyUsage = critical, keyCertSign, cRLSign', 'subjectKeyIdentifier = hash'],
  leaf: ['basicConstraints = CA:FALSE', 'keyUsage = critical, digitalSignature', 'extendedKeyUsage = codeSigning'],
  selfSignedLeaf: ['keyUsage = critical, digitalSignature', 'extendedKeyUsage = codeSigning'],
  tsa: ['basicConstraints = CA:FALSE', 'keyUsage = critical, digitalSignature', 'extendedKeyUsage = critical, timeStamping'],
  serverLeaf: ['basicConstraints = CA:FALSE', 'keyUsage = critical, digitalSignature', 'extendedKeyUsage = serverAuth'],
};

function asn1Time(d: Date): string {
  return d.toISOString().replace(/[-:T]/g, '').replace(/\.\d+Z$/, 'Z').slice(2); // YYMMDDHHMMSSZ
}

function keyArgs(spec: KeySpec): string[] {
  switch (spec) {
    case 'ec256': return ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1'];
    case 'ec384': return ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:secp384r1'];
    case 'rsa2048': return ['-newkey', 'rsa:2048'];
    case 'rsa3072': return ['-newkey', 'rsa:3072'];
  }
}

/** A certificate factory working in one directory. */
export class TestPki {
  private serial = 1;
  constructor(readonly dir: string = makeTempDir('notation-pki')) {
    mkdirSync(dir, { recursive: true });
  }

  issue(name: string, o: CertificateOptions): TestCertificate {
    const p = (suffix: string): string => join(this.dir, `${name}${suffix}`);
    const openssl = (...args: string[]): void => {
      try {
        execFileSync('openssl', args, { cwd: this.dir, stdio: ['ignore', 'ignore', 'pipe'] });
      } catch (err) {
        throw new Error(`openssl ${args[0]} for ${name} failed: ${String((err as { stderr?: Buffer }).stderr ?? err)}`);
      }
    };
    openssl('req', '-new', ...keyArgs(o.key ?? 'ec256'), '-nodes', '-keyout', p('.key'), '-out', p('.csr'), '-subj', o.subject);
    const notBefore = o.notBefore ?? new Date(Date.now() - 60_000);
    const notAfter = o.notAfter ?? new Date(Date.now() + 2 * 86_400_000);
    const db = p('.index');
    writeFileSync(db, '');
    const ext = [...PROFILES[o.profile], ...(o.issuer ? ['authorityKeyIdentifier = keyid'] : []), ...(o.extraExtensions ?? [])];
    writeFileSync(p('.cnf'), [
      '[ ca ]', 'default_ca = test_ca',
      '[ test_ca ]', `database = ${db}`, `serial = ${p('.serial')}`, `new_certs_dir = ${this.dir}`, 'default_md = sha256', 'policy = anything',
      'unique_subject = no', 'copy_extensions = none', 'email_in_dn = no', 'preserve = yes',
      '[ anything ]', 'countryName = optional', 'stateOrProvinceName = optional', 'localityName = optional',
      'organizationName = optional', 'organizationalUnitName = optional', 'commonName = optional',
      '[ ext ]', ...ext, '',
    ].join('\n'));
    const serialHex = `${(this.serial++).toString(16).padStart(4, '0')}${Date.now().toString(16)}`;
    writeFileSync(p('.serial'), `${serialHex.length % 2 ? '0' : ''}${serialHex}\n`);
    const signer = o.issuer ? ['-cert', o.issuer.certPath, '-keyfile', o.issuer.keyPath] : ['-selfsign', '-keyfile', p('.key')];
    openssl('ca', '-batch', '-notext', '-config', p('.cnf'), '-extensions', 'ext', '-in', p('.csr'), '-out', p('.crt'),
      '-startdate', asn1Time(notBefore), '-enddate', asn1Time(notAfter), ...signer);
    return { name, certPath: p('.crt'), keyPath: p('.key'), certPem: readFileSync(p('.crt'), 'utf8'), issuer: o.issuer };
  }

  private openssl(what: string, args: string[]): void {
    try {
      execFileSync('openssl', args, { cwd: this.dir, stdio: ['ignore', 'ignore', 'pipe'] });
    } catch (err) {
      throw new Error(`openssl ${args[0]} for ${what} failed: ${String((err as { stderr?: Buffer }).stderr ?? err)}`);
    }
  }

  /** Marks `cert` revoked in its issuer's database (`openssl ca -revoke`), for CRLs and the OCSP responder. */
  revoke(cert: TestCertificate, reason = 'keyCompromise'): void {
    if (!cert.issuer) throw new Error(`${cert.name} is self-signed`);
    const p = (suffix: string): string => join(this.dir, `${cert.name}${suffix}`);
    this.openssl(cert.name, ['ca', '-batch', '-config', p('.cnf'), '-revoke', cert.certPath, '-crl_reason', reason, '-cert', cert.issuer.certPath, '-keyfile', cert.issuer.keyPath]);
  }

  /**
   * A v2 CRL (DER) from `cert`'s issuer listing what `revoke` marked (`openssl ca -gencrl`), valid from
   * `lastUpdate` (default a minute ago) to `nextUpdate` (default a day later), signed by `signer` (default the issuer).
   */
  crl(cert: TestCertificate, o: { lastUpdate?: Date; nextUpdate?: Date; signer?: TestCertificate } = {}): Buffer {
    const issuer = o.signer ?? cert.issuer;
    if (!issuer) throw new Error(`${cert.name} is self-signed`);
    const p = (suffix: string): string => join(this.dir, `${cert.name}${suffix}`);
    const cnf = readFileSync(p('.cnf'), 'utf8');
    if (!cnf.includes('crlnumber')) {
      writeFileSync(p('.crlnumber'), '01\n');
      writeFileSync(p('.cnf'), cnf.replace('[ test_ca ]', `[ test_ca ]\ncrlnumber = ${p('.crlnumber')}\ncrl_extensions = crl_ext`) + '\n[ crl_ext ]\nauthorityKeyIdentifier = keyid:always\n');
    }
    const last = o.lastUpdate ?? new Date(Date.now() - 60_000);
    const next = o.nextUpdate ?? new Date(last.getTime() + 86_400_000);
    this.openssl(cert.name, ['ca', '-batch', '-gencrl', '-config', p('.cnf'), '-cert', issuer.certPath, '-keyfile', issuer.keyPath,
      '-crl_lastupdate', asn1Time(last), '-crl_nextupdate', asn1Time(next), '-out', p('.crl.pem')]);
    this.openssl(cert.name, ['crl', '-in', p('.crl.pem'), '-outform', 'DER', '-out', p('.crl')]);
    return readFileSync(p('.crl'));
  }

  /** The issuer database (`openssl ca` index file) that records `cert` and its revocation, for `openssl ocsp`. */
  indexOf(cert: TestCertificate): string {
    return join(this.dir, `${cert.name}.index`);
  }

  /** PEM of `cert` followed by its issuers (leaf first), e.g. for notation's signing key `certPath`. */
  chainPem(cert: TestCertificate): string {
    const out: string[] = [];
    for (let c: TestCertificate | undefined = cert; c; c = c.issuer) out.push(c.certPem.trim());
    return `${out.join('\n')}\n`;
  }

  writeChain(cert: TestCertificate, file = join(this.dir, `${cert.name}.chain.pem`)): string {
    writeFileSync(file, this.chainPem(cert));
    return file;
  }
}

/** A code-signing root → leaf chain with the subject a Notary trust policy names, valid from 1 min ago for 2 days. */
export function codeSigningChain(pki: TestPki, name: string, o: { subject?: string; key?: KeySpec; notAfter?: Date; intermediate?: boolean } = {}): TestCertificate {
  const root = pki.issue(`${name}-root`, { subject: `/C=US/ST=WA/O=Imprimatur Test/CN=${name} Root CA`, profile: 'ca', key: o.key });
  const parent = o.intermediate ? pki.issue(`${name}-intermediate`, { subject: `/C=US/ST=WA/O=Imprimatur Test/CN=${name} Intermediate CA`, profile: 'ca', issuer: root, key: o.key }) : root;
  return pki.issue(name, {
    subject: o.subject ?? `/C=US/ST=WA/L=Seattle/O=Imprimatur Test/OU=Release/CN=${name}`,
    profile: 'leaf',
    issuer: parent,
    key: o.key,
    notAfter: o.notAfter,
  });
}

/** The root of a chain. */
export function rootOf(cert: TestCertificate): TestCertificate {
  let c = cert;
  while (c.issuer) c = c.issuer;
  return c;
}
