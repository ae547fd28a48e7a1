/**
 * Required attestations end to end: POST /mutate on the real HTTPS webhook (denial message lists each
 * required attestation), the alert a real receiver gets (results[].attestations), GET /metrics
 * (imprimatur_attestations_total), and `imprimatur explain` from the built bin (the policy sandbox's
 * worker from dist).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { generateTestKey, signImage, type TestKey } from '../harness/cosign-signing.js';
import { attestWithKey } from '../harness/attestation-signing.js';
import { startHttpReceiver, type HttpReceiver } from '../harness/http-receiver.js';
import { startRegistry, type TestRegistry } from '../harness/registry.js';
import { indentPem } from '../support/configs.js';
import { review, workload } from '../support/reviews.js';
import { startWebhook, writeTempConfig, type TestWebhook } from '../support/webhook.js';

const VULN = 'https://cosign.sigstore.dev/attestation/vuln/v1';
const POLICY = '!predicate.scanner.result.Results.exists(r, has(r.Vulnerabilities) && r.Vulnerabilities.exists(v, v.Severity == "CRITICAL"))';
const scan = (severities: string[]) => ({ scanner: { uri: 'pkg:github/aquasecurity/trivy', version: '0.58.0', result: { Results: [{ Target: 'app', Vulnerabilities: severities.map((Severity) => ({ Severity })) }] } }, metadata: { scanFinishedOn: new Date().toISOString() } });

describe('admission with required attestations (real registry, webhook, receiver, CLI)', function () {
  this.timeout(90_000);
  let registry: TestRegistry;
  let receiver: HttpReceiver;
  let hook: TestWebhook;
  let configYaml: string;
  const release: TestKey = generateTestKey('ecdsa-p256');
  const scanner: TestKey = generateTestKey('ecdsa-p256');
  let clean: string;
  let critical: string;

  before(async () => {
    [registry, receiver] = await Promise.all([startRegistry(), startHttpReceiver()]);
    for (const [tag, severities] of [['clean', ['LOW']], ['critical', ['CRITICAL']]] as const) {
      const img = await registry.pushRandomImage('team/app', tag);
      await signImage(registry, registry.host, 'team/app', img.digest, [release]);
      await attestWithKey(registry, 'team/app', img.digest, scanner, VULN, scan([...severities]));
    }
    const templates = mkdtempSync(join(tmpdir(), 'imprimatur-templates-'));
    writeFileSync(join(templates, 'results.json.hbs'), '{"decision": "{{decision}}", "results": {{{json results}}} }');
    clean = `${registry.host}/team/app:clean`;
    critical = `${registry.host}/team/app:critical`;
    configYaml = `insecureRegistries: ["${registry.host}"]
validators:
  - name: deny
    type: static
    approve: false
  - name: acme
    type: cosign
    trustRoots:
      - name: release
        key: |
${indentPem(release.publicPem, 10)}
      - name: scanner
        key: |
${indentPem(scanner.publicPem, 10)}
policy:
  - pattern: "*:*"
    validator: deny
  - pattern: "${registry.host}/team/*"
    validator: acme
    with:
      trustRoot: release
      verifyInTransparencyLog: false
      attestations:
        - predicateType: vuln
          trustRoot: scanner
          policy: '${POLICY}'
alerting:
  templateDirectory: ${templates}
  rejectRequest:
    receivers:
      - template: results
        receiverUrl: ${receiver.url}
`;
    hook = await startWebhook(configYaml);
  });
  after(async () => {
    await hook?.close();
    await Promise.all([registry?.stop(), receiver?.close()]);
  });

  it('admits the clean image and denies the one with a CRITICAL finding, naming the attestation, its signer and the policy', async () => {
    const ok = await hook.post(review('Pod', workload('Pod', { containers: [clean] })));
    expect(ok.json.response.allowed).to.equal(true);
    const res = await hook.post(review('Deployment', workload('Deployment', { containers: [critical] })));
    expect(res.json.response.allowed).to.equal(false);
    expect(res.json.response.status.message).to.equal(
      `Imprimatur denied Deployment team-a/demo: image "${critical}" (rule "${registry.host}/team/*", validator "acme"): required attestations not satisfied (1 of 1): vuln (${VULN}): found 1, signature verified (scanner), policy false: ${POLICY}`,
    );
  });

  it('alert templates get each required attestation', async () => {
    // The denial of the first test.
    const [alert] = await receiver.waitForRequests(1, 10_000);
    const result = (alert!.json as { results: Array<{ attestations: unknown[] }> }).results[0]!;
    expect(result.attestations).to.deep.equal([{
      predicateType: VULN, satisfied: false, code: 'ATTESTATION_POLICY_FAILED',
      summary: `vuln (${VULN}): found 1, signature verified (scanner), policy false: ${POLICY}`,
      found: 1, verifiedBy: ['scanner'], policy: POLICY, policyResult: 'false',
    }]);
  });

  it('counts each required attestation in imprimatur_attestations_total; a cached verification keeps its attestation results', async () => {
    const scrape = async () => (await hook.post(undefined, { method: 'GET', path: '/metrics' })).text;
    const value = (text: string, name: string, labels: string[]) => Number(text.split('\n').find((l) => l.startsWith(`${name}{`) && labels.every((x) => l.includes(x)))?.split(' ').pop() ?? 0);
    const attestations = (text: string, result: string) => value(text, 'imprimatur_attestations_total', [`result="${result}"`, `predicate_type="${VULN}"`, 'validator="acme"']);
    const before = await scrape();
    expect(attestations(before, 'satisfied')).to.be.greaterThan(0);
    expect(attestations(before, 'policy_failed')).to.be.greaterThan(0);
    // The clean image again: a cache hit (no registry request), counted again as for imprimatur_verifications_total.
    registry.resetRequestCount();
    const again = await hook.post(review('Pod', workload('Pod', { containers: [clean] })));
    expect(again.json.response.allowed).to.equal(true);
    expect(registry.requestCount()).to.equal(0);
    const after = await scrape();
    expect(attestations(after, 'satisfied')).to.equal(attestations(before, 'satisfied') + 1);
    expect(value(after, 'imprimatur_skipped_validations_total', ['reason="cache"'])).to.be.greaterThan(value(before, 'imprimatur_skipped_validations_total', ['reason="cache"']));
  });

  it('imprimatur explain (built bin) lists the attestation, its signer and the policy result', async () => {
    const file = writeTempConfig(configYaml);
    const out = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
      const child = spawn(process.execPath, [join(process.cwd(), 'bin', 'imprimatur.js'), 'explain', '--config', file, clean, critical], { env: { ...process.env, IMPRIMATUR_LOG_LEVEL: 'silent' } });
      let stdout = '';
      child.stdout.on('data', (d) => { stdout += String(d); });
      child.on('close', (code) => resolve({ code, stdout }));
    });
    expect(out.code, out.stdout).to.equal(1);
    expect(out.stdout).to.contain(`    ✔ vuln (${VULN}): found 1, signature verified (scanner), policy true`);
    expect(out.stdout).to.contain(`    ✘ vuln (${VULN}): found 1, signature verified (scanner), policy false: ${POLICY}`);
    expect(out.stdout).to.contain(`        policy (false): ${POLICY}`);
  });
});
