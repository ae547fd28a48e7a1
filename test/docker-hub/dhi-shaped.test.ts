/**
 * A Docker-Hardened-Image-shaped image end to end: a multi-arch index behind a registry that needs a
 * login, signed on its index digest with a key of our own as Docker signs DHI (a cosign signature stored
 * as an OCI 1.1 referrer, no Rekor entry), verified by the shipped `dhi` validator and rule — the same
 * config, only the keys, the registry name and the pull secret swapped in — through the real webhook
 * and the real `imprimatur explain`.
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { classicLayer, generateTestKey, pushSignatureReferrer, type TestKey } from '../harness/cosign-signing.js';
import { startRegistry, type TestRegistry } from '../harness/registry.js';
import { review, workload } from '../support/reviews.js';
import { startWebhook, type TestWebhook } from '../support/webhook.js';
import { dhiConfig } from './dhi-config.js';

const BIN = join(process.cwd(), 'bin', 'imprimatur.js');
const USER = { user: 'dhi-reader', password: 'read-only-token' };

describe('a DHI-shaped image verified by the shipped dhi validator', function () {
  this.timeout(60_000);
  let registry: TestRegistry;
  let secretsDir: string;
  let hook: TestWebhook;
  let configFile: string;
  const dhi2 = generateTestKey('ecdsa-p256');
  const dhi1 = generateTestKey('ecdsa-p256');
  const images: Record<string, string> = {};

  /** A two-platform index at dhi/<name>:<tag>, signed (on the index digest) by `signer` as a cosign OCI 1.1 referrer. */
  async function pushDhiImage(name: string, tag: string, signer?: TestKey): Promise<string> {
    const repo = `dhi/${name}`;
    const amd = await registry.pushRandomImage(repo, `${tag}-amd64`, { platform: { architecture: 'amd64', os: 'linux' } });
    const arm = await registry.pushRandomImage(repo, `${tag}-arm64`, { platform: { architecture: 'arm64', os: 'linux' } });
    const index = await registry.pushIndex(repo, tag, [amd.descriptor, arm.descriptor]);
    if (signer) {
      const subject = { mediaType: index.mediaType, digest: index.digest, size: index.body.length };
      await pushSignatureReferrer(registry, repo, subject, [classicLayer(signer, index.digest, `dhi.io/${name}`)]);
    }
    return index.digest;
  }

  before(async () => {
    registry = await startRegistry({ htpasswd: USER });
    images.python = await pushDhiImage('python', '3.13', dhi2);
    images.node = await pushDhiImage('node', '22', dhi1); // an older image, signed with the retired key
    images.forged = await pushDhiImage('nginx', '1.27', generateTestKey());
    images.unsigned = await pushDhiImage('redis', '7');
    secretsDir = mkdtempSync(join(tmpdir(), 'imprimatur-dhi-secrets-'));
    mkdirSync(join(secretsDir, 'dhi-pull'));
    const auth = Buffer.from(`${USER.user}:${USER.password}`).toString('base64');
    writeFileSync(join(secretsDir, 'dhi-pull', '.dockerconfigjson'), JSON.stringify({ auths: { [registry.host]: { auth } } }));
    const text = dhiConfig(registry, { dhi2: dhi2.publicPem, dhi1: dhi1.publicPem }, 'dhi-pull');
    hook = await startWebhook(text, { secretsDir });
    configFile = hook.configFile;
  });
  after(async () => {
    await hook?.close();
    await registry?.stop();
  });

  const post = (image: string) => hook.post(review('Deployment', workload('Deployment', { containers: [image] }, 'app')));

  it('admits an image signed with the active key and pins the tag to the signed index digest', async () => {
    const image = `${registry.host}/dhi/python:3.13`;
    const res = await post(image);
    expect(res.json.response.allowed, JSON.stringify(res.json.response.status)).to.equal(true);
    const patch = JSON.parse(Buffer.from(res.json.response.patch, 'base64').toString('utf8'));
    // the image pinned, and (a Deployment) the owner proof for it
    expect(patch[0]).to.deep.equal({ op: 'replace', path: '/spec/template/spec/containers/0/image', value: `${image}@${images.python}` });
    expect(patch.slice(1).map((op: { path: string }) => op.path)).to.deep.equal(['/metadata/annotations']);
  });

  it('admits an older image signed with the retired key (any one trust root)', async () => {
    const res = await post(`${registry.host}/dhi/node:22`);
    expect(res.json.response.allowed, JSON.stringify(res.json.response.status)).to.equal(true);
  });

  it('denies an image signed with another key, and an unsigned one, saying so', async () => {
    const forged = await post(`${registry.host}/dhi/nginx:1.27`);
    expect(forged.json.response.allowed).to.equal(false);
    expect(forged.json.response.status.message).to.contain(`validator "dhi"): threshold not reached (valid 0 of 1 required; signed by: none)`);
    const unsigned = await post(`${registry.host}/dhi/redis:7`);
    expect(unsigned.json.response.allowed).to.equal(false);
    expect(unsigned.json.response.status.message).to.contain('threshold not reached (valid 0 of 1 required; signed by: none)');
  });

  it('explain names the rule, the trust root that verified and the signature format', async () => {
    // asynchronously: the registry's front runs in this process and must keep answering
    const r = await promisify(execFile)(process.execPath, [BIN, 'explain', '--config', configFile, '--secrets-dir', secretsDir, `${registry.host}/dhi/python:3.13`],
      { encoding: 'utf8', env: { ...process.env, IMPRIMATUR_LOG_LEVEL: 'silent' } });
    expect(r.stdout).to.contain(`rule:        "${registry.host}/dhi/*"`).and.contain('validator:   dhi (cosign)').and.contain('trust roots: dhi-2, dhi-1')
      .and.contain(`digest:      ${images.python}`).and.contain('format:      OCI 1.1 referrer signature');
    expect(r.stdout).to.match(/✔ dhi-2: 0 classic signature\(s\), 1 OCI 1\.1 referrer signature\(s\), 0 bundle\(s\) — verified referrer sha256:[0-9a-f]{12}… layer 0 \(ecdsa-sha256\)/);
    expect(r.stdout).to.match(/✘ dhi-1: .* — referrer sha256:[0-9a-f]{12}… layer 0: signature does not match this key/);
  });

  it('without the pull secret, denies saying the registry needs credentials', async () => {
    const noSecret = await startWebhook(dhiConfig(registry, { dhi2: dhi2.publicPem, dhi1: dhi1.publicPem }), { secretsDir });
    try {
      const res = await noSecret.post(review('Pod', workload('Pod', { containers: [`${registry.host}/dhi/python:3.13`] })));
      expect(res.json.response.allowed).to.equal(false);
      expect(res.json.response.status.message).to.contain(`validator "dhi"): registry ${registry.host} requires authentication, but no credentials are configured for it (HTTP 401); set auth.secretName on the validator`);
    } finally {
      await noSecret.close();
    }
  });
});
