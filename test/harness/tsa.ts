/**
 * A real RFC 3161 timestamp authority on loopback: `openssl ts -reply` behind a small HTTP server
 * (POST application/timestamp-query → application/timestamp-reply), with its own root → TSA chain.
 * The token carries the signing-certificate-v2 attribute (ess_cert_id_alg = sha256), as the Notary
 * Project requires.
 */
import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { TestPki, type TestCertificate } from './notation-pki.js';

const run = promisify(execFile);

export interface TestTsa {
  url: string;
  root: TestCertificate;
  tsaCert: TestCertificate;
  /** Requests answered. */
  requests(): number;
  stop(): Promise<void>;
}

export async function startTsa(pki: TestPki, o: { name?: string; tsaNotAfter?: Date } = {}): Promise<TestTsa> {
  const name = o.name ?? 'tsa';
  const root = pki.issue(`${name}-root`, { subject: `/C=US/ST=WA/O=Imprimatur Test TSA/CN=${name} Root`, profile: 'ca' });
  const tsaCert = pki.issue(name, { subject: `/C=US/ST=WA/O=Imprimatur Test TSA/CN=${name}`, profile: 'tsa', issuer: root, notAfter: o.tsaNotAfter });
  const dir = pki.dir;
  const conf = join(dir, `${name}.ts.cnf`);
  writeFileSync(join(dir, `${name}.tsaserial`), '01\n');
  writeFileSync(conf, [
    '[ tsa ]', 'default_tsa = tsa_config',
    '[ tsa_config ]',
    `dir = ${dir}`,
    `serial = ${join(dir, `${name}.tsaserial`)}`,
    'crypto_device = builtin',
    `signer_cert = ${tsaCert.certPath}`,
    `signer_key = ${tsaCert.keyPath}`,
    'signer_digest = sha256',
    'default_policy = 1.3.6.1.4.1.57264.2.1',
    'digests = sha256, sha384, sha512',
    'accuracy = secs:1',
    'ordering = no',
    'tsa_name = no',
    'ess_cert_id_chain = no',
    'ess_cert_id_alg = sha256',
    '',
  ].join('\n'));
  let count = 0;
  let seq = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const id = `${name}-${++seq}`;
      const query = join(dir, `${id}.tsq`);
      const reply = join(dir, `${id}.tsr`);
      writeFileSync(query, Buffer.concat(chunks));
      run('openssl', ['ts', '-reply', '-config', conf, '-queryfile', query, '-out', reply]).then(
        () => {
          count++;
          res.writeHead(200, { 'content-type': 'application/timestamp-reply' }).end(readFileSync(reply));
        },
        (err: Error) => {
          res.writeHead(500, { 'content-type': 'text/plain' }).end(err.message);
        },
      );
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    root,
    tsaCert,
    requests: () => count,
    stop: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}
