/** End to end through POST /mutate: real docker-registry, real cosign-format signatures, real HTTPS webhook. */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { startRegistry, type TestRegistry } from '../harness/registry.js';
import { generateTestKey, signImage, type TestKey } from '../harness/cosign-signing.js';
import { startWebhook, writeTempConfig, type TestWebhook } from '../support/webhook.js';
import { applyPatch, review, workload } from '../support/reviews.js';
import { cosignKeyValidator } from '../support/configs.js';


const config = (reg: TestRegistry, key: TestKey, features = '', mode = 'mutate') => `
insecureRegistries: ["${reg.host}"]
validators:
  - name: deny
    type: static
    approve: false
${cosignKeyValidator('myorg', key.publicPem)}policy:
  - pattern: "*:*"
    validator: deny
  - pattern: "${reg.host}/myorg/*"
    validator: myorg
    with:
      mode: ${mode}
      verifyInTransparencyLog: false
${features}`;

describe('admission with the cosign validator (real registry, real signatures)', function () {
  this.timeout(60_000);
  let reg: TestRegistry;
  let key: TestKey;
  let signed: string;
  let signedDigest: string;
  let unsigned: string;

  before(async () => {
    reg = await startRegistry();
    key = generateTestKey('ecdsa-p256');
    const a = await reg.pushRandomImage('myorg/api', '1.0', { seed: 'api' });
    await signImage(reg, reg.host, 'myorg/api', a.digest, [key]);
    const b = await reg.pushRandomImage('myorg/worker', '2.0', { seed: 'worker' });
    signed = `${reg.host}/myorg/api:1.0`;
    signedDigest = a.digest;
    unsigned = `${reg.host}/myorg/worker:2.0`;
    void b;
  });
  after(async () => { await reg?.stop(); });

  describe('mutate mode', () => {
    let hook: TestWebhook;
    before(async () => { hook = await startWebhook(config(reg, key)); });
    after(async () => { await hook.close(); });

    it('a Deployment with a signed and an unsigned image is denied, naming only the unsigned one', async () => {
      const res = await hook.post(review('Deployment', workload('Deployment', { containers: [signed, unsigned] })));
      expect(res.json.response.allowed).to.equal(false);
      const msg: string = res.json.response.status.message;
      expect(msg).to.contain(`image "${unsigned}"`).and.contain('validator "myorg"').and.match(/no signatures found/);
      expect(msg).to.not.contain('myorg/api');
    });

    it('a signed image is admitted and every container using it is pinned to the verified digest', async () => {
      const obj = workload('Deployment', { containers: [signed, signed], initContainers: [signed] });
      const res = await hook.post(review('Deployment', obj));
      expect(res.json.response.allowed).to.equal(true);
      expect(res.json.response.patchType).to.equal('JSONPatch');
      const patched = applyPatch(obj, res.json.response.patch) as any;
      const spec = patched.spec.template.spec;
      expect(spec.containers.map((c: any) => c.image)).to.deep.equal([`${signed}@${signedDigest}`, `${signed}@${signedDigest}`]);
      expect(spec.initContainers[0].image).to.equal(`${signed}@${signedDigest}`);
    });

    it('pins CronJob images at spec.jobTemplate.spec.template.spec', async () => {
      const obj = workload('CronJob', { containers: [signed] });
      const res = await hook.post(review('CronJob', obj));
      const patched = applyPatch(obj, res.json.response.patch) as any;
      expect(patched.spec.jobTemplate.spec.template.spec.containers[0].image).to.equal(`${signed}@${signedDigest}`);
    });

    it('an already pinned reference is admitted without a patch; a wrong pinned digest is denied', async () => {
      const ok = await hook.post(review('Pod', workload('Pod', { containers: [`${signed}@${signedDigest}`] })));
      expect(ok.json.response.allowed).to.equal(true);
      expect(ok.json.response.patch).to.equal(undefined);
      const other = `sha256:${'ab'.repeat(32)}`;
      const bad = await hook.post(review('Pod', workload('Pod', { containers: [`${reg.host}/myorg/api@${other}`] })));
      expect(bad.json.response.allowed).to.equal(false);
    });

    it('an image that does not exist is denied with a sentence saying so', async () => {
      const res = await hook.post(review('Pod', workload('Pod', { containers: [`${reg.host}/myorg/ghost:1`] })));
      expect(res.json.response.allowed).to.equal(false);
      expect(res.json.response.status.message).to.match(/does not exist/);
    });
  });

  it('imprimatur explain performs the real verification and prints the record (text and --json)', async () => {
    const file = writeTempConfig(config(reg, key));
    // Asynchronous: the registry's counting front runs in this process and must keep serving.
    const explain = async (...args: string[]) => {
      try {
        const { stdout, stderr } = await promisify(execFile)(process.execPath, [join(process.cwd(), 'bin', 'imprimatur.js'), 'explain', '--config', file, ...args], { encoding: 'utf8' });
        return { status: 0, stdout, stderr };
      } catch (err) {
        const e = err as { code: number; stdout: string; stderr: string };
        return { status: e.code, stdout: e.stdout, stderr: e.stderr };
      }
    };
    const text = await explain(signed);
    expect(text.status, text.stderr).to.equal(0);
    expect(text.stdout).to.contain(`digest:      ${signedDigest}`).and.contain('validator:   myorg (cosign)').and.contain('✔ default');
    const json = await explain('--json', signed, unsigned);
    expect(json.status).to.equal(1);
    const [ok, bad] = JSON.parse(json.stdout);
    expect(ok).to.include({ outcome: 'admitted', digest: signedDigest });
    expect(ok.record.trustRoots[0]).to.include({ name: 'default', verified: true });
    expect(bad).to.include({ outcome: 'denied' });
    expect(bad.reason).to.match(/no signatures found/);
  });

  it('the denial kubectl shows names the specific reason: wrong key, no transparency log entry, no signature (bounded)', async () => {
    const otherKey = generateTestKey('ecdsa-p256');
    const wrong = await reg.pushRandomImage('reasons/wrong-key', '1', { seed: 'wrong' });
    await signImage(reg, reg.host, 'reasons/wrong-key', wrong.digest, [otherKey]);
    const noTlog = await reg.pushRandomImage('reasons/no-tlog', '1', { seed: 'notlog' });
    await signImage(reg, reg.host, 'reasons/no-tlog', noTlog.digest, [key]);
    await reg.pushRandomImage('reasons/unsigned', '1', { seed: 'unsigned' });
    const text = `
insecureRegistries: ["${reg.host}"]
${cosignKeyValidator('default', key.publicPem).replace(/^/, 'validators:\n')}policy:
  - pattern: "*:*"
  - pattern: "${reg.host}/reasons/wrong-key"
    with: {verifyInTransparencyLog: false}
  - pattern: "${reg.host}/reasons/unsigned"
    with: {verifyInTransparencyLog: false}
`;
    const hook = await startWebhook(text);
    try {
      const images = ['wrong-key', 'no-tlog', 'unsigned'].map((r) => `${reg.host}/reasons/${r}:1`);
      const res = await hook.post(review('Pod', workload('Pod', { containers: images }, 'web')));
      expect(res.json.response.allowed).to.equal(false);
      const msg: string = res.json.response.status.message;
      const parts = msg.replace(/^Imprimatur denied Pod team-a\/web: /, '').split(/; (?=image ")/);
      expect(parts).to.deep.equal([
        `image "${images[0]}" (rule "${reg.host}/reasons/wrong-key", validator "default"): no signature matches trust root "default": 1 signature found, it does not match this key`,
        `image "${images[1]}" (rule "*:*", validator "default"): no signature matches trust root "default": signed by this key, but transparency log entry invalid: the signature has no Rekor bundle (signed with --tlog-upload=false?); set verifyInTransparencyLog: false in the rule to accept it`,
        `image "${images[2]}" (rule "${reg.host}/reasons/unsigned", validator "default"): no signatures found for ${images[2]}`,
      ]);
      expect(msg.length).to.be.below(1200);
    } finally {
      await hook.close();
    }
  });

  it('insecureValidateOnly verifies but never patches', async () => {
    const hook = await startWebhook(config(reg, key, '', 'insecureValidateOnly'));
    try {
      const ok = await hook.post(review('Pod', workload('Pod', { containers: [signed] })));
      expect(ok.json.response.allowed).to.equal(true);
      expect(ok.json.response.patch).to.equal(undefined);
      const bad = await hook.post(review('Pod', workload('Pod', { containers: [unsigned] })));
      expect(bad.json.response.allowed).to.equal(false);
    } finally {
      await hook.close();
    }
  });

  it('detection mode admits the unsigned image with a warning and still pins the verified one', async () => {
    const hook = await startWebhook(config(reg, key, 'features:\n  detectionMode: true\n'));
    try {
      const obj = workload('Pod', { containers: [signed, unsigned] });
      const res = await hook.post(review('Pod', obj));
      expect(res.json.response.allowed).to.equal(true);
      expect(res.json.response.warnings).to.have.length(1);
      expect(res.json.response.warnings[0]).to.contain(unsigned);
      const patched = applyPatch(obj, res.json.response.patch) as any;
      expect(patched.spec.containers[0].image).to.equal(`${signed}@${signedDigest}`);
      expect(patched.spec.containers[1].image).to.equal(unsigned);
    } finally {
      await hook.close();
    }
  });

  it('registry down: the image is denied within the deadline (fail closed)', async () => {
    const down = await startRegistry();
    const img = await down.pushRandomImage('myorg/api', '1.0', { seed: 'down' });
    await signImage(down, down.host, 'myorg/api', img.digest, [key]);
    const hook = await startWebhook(config(down, key));
    try {
      await down.stop();
      const res = await hook.post(review('Pod', workload('Pod', { containers: [`${down.host}/myorg/api:1.0`] })));
      expect(res.json.response.allowed).to.equal(false);
      expect(res.json.response.status.message).to.match(/unreachable|refused|down/i);
    } finally {
      await hook.close();
    }
  });
});
