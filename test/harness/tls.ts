import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir } from './temp-dirs.js';

/** A throw-away certificate authority and a server certificate for 127.0.0.1 / localhost (made with openssl). */
export interface TestCertificates {
  dir: string;
  caPath: string;
  caPem: string;
  certPath: string;
  certPem: string;
  keyPath: string;
  keyPem: string;
}

export function createTestCertificates(dir = makeTempDir('ca')): TestCertificates {
  mkdirSync(dir, { recursive: true });
  const p = (name: string): string => join(dir, name);
  const openssl = (...args: string[]): void => {
    execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  };
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl('req', '-x509', ...ec, '-keyout', p('ca.key'), '-out', p('ca.crt'), '-days', '2', '-subj', '/CN=Imprimatur Test CA',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
  openssl('req', ...ec, '-keyout', p('server.key'), '-out', p('server.csr'), '-subj', '/CN=localhost');
  writeFileSync(p('server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n');
  openssl('x509', '-req', '-in', p('server.csr'), '-CA', p('ca.crt'), '-CAkey', p('ca.key'), '-CAcreateserial',
    '-out', p('server.crt'), '-days', '2', '-extfile', p('server.ext'));
  return {
    dir,
    caPath: p('ca.crt'),
    caPem: readFileSync(p('ca.crt'), 'utf8'),
    certPath: p('server.crt'),
    certPem: readFileSync(p('server.crt'), 'utf8'),
    keyPath: p('server.key'),
    keyPem: readFileSync(p('server.key'), 'utf8'),
  };
}

/** A self-signed EC P-256 certificate and key (e.g. the token issuer's `rootcertbundle`). */
export function createSelfSignedEcCertificate(dir: string, name: string, subject: string): { certPath: string; keyPem: string; certPem: string } {
  const certPath = join(dir, `${name}.crt`);
  const keyPath = join(dir, `${name}.key`);
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', keyPath, '-out', certPath, '-days', '2', '-subj', subject], { stdio: ['ignore', 'ignore', 'pipe'] });
  return { certPath, keyPem: readFileSync(keyPath, 'utf8'), certPem: readFileSync(certPath, 'utf8') };
}
