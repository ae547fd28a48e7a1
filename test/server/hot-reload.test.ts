import { expect } from 'chai';
import { mkdirSync, mkdtempSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../src/log.js';
import { Runtime } from '../../src/server/runtime.js';
import { startWebhook } from '../support/webhook.js';
import { review, workload } from '../support/reviews.js';
import { STATIC_VALIDATORS } from '../support/configs.js';

const policy = (nginx: 'allow' | 'deny') => `
${STATIC_VALIDATORS}policy:
  - pattern: "*:*"
    validator: deny
  - pattern: "docker.io/library/nginx"
    validator: ${nginx}
`;

/** Lays out a directory the way the kubelet mounts a ConfigMap: config.yaml → ..data/config.yaml, ..data → ..<timestamp>. */
function configMapDir(text: string): { file: string; update(text: string): void } {
  const dir = mkdtempSync(join(tmpdir(), 'imprimatur-cm-'));
  let n = 0;
  const publish = (t: string) => {
    const version = `..2026_11_27_${n++}`;
    mkdirSync(join(dir, version));
    writeFileSync(join(dir, version, 'config.yaml'), t);
    symlinkSync(version, join(dir, '..data_tmp'));
    renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
  };
  publish(text);
  symlinkSync('..data/config.yaml', join(dir, 'config.yaml'));
  return { file: join(dir, 'config.yaml'), update: publish };
}

const until = async (check: () => Promise<boolean>, ms = 8000) => {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
};

describe('hot reload of the config file', () => {
  it('follows a ConfigMap symlink swap, and keeps the old config when the new one is invalid', async () => {
    const cm = configMapDir(policy('deny'));
    const hook = await startWebhook('unused: true', { configFile: cm.file, reloadPollMs: 300 });
    const nginxAllowed = async () => (await hook.post(review('Pod', workload('Pod', { containers: ['nginx:1.25'] })))).json.response.allowed as boolean;
    try {
      expect(await nginxAllowed()).to.equal(false);
      cm.update(policy('allow'));
      expect(await until(nginxAllowed), 'the new config takes effect').to.equal(true);
      cm.update('validators: [\n  broken');
      await new Promise((r) => setTimeout(r, 1000));
      expect(await nginxAllowed(), 'a broken config is refused; the previous one stays').to.equal(true);
      cm.update(policy('deny'));
      expect(await until(async () => !(await nginxAllowed()))).to.equal(true);
    } finally {
      await hook.close();
    }
  });

  it('in-flight requests keep the configuration they started with', () => {
    const cm = configMapDir(policy('deny'));
    const runtime = new Runtime(cm.file, { logger: silentLogger, reloadPollMs: 0 });
    const lease = runtime.acquire();
    const before = lease.engine;
    cm.update(policy('allow'));
    const failures: Array<boolean> = [];
    runtime.onReload((ok) => failures.push(ok));
    expect(runtime.reload().changed).to.equal(true);
    expect(lease.engine).to.equal(before);
    expect(lease.engine.config.policy[1]!.validator).to.equal('deny');
    expect(runtime.engine.config.policy[1]!.validator).to.equal('allow');
    cm.update('{');
    const result = runtime.reload();
    expect(result.changed).to.equal(false);
    expect(result.error?.message).to.match(/not valid YAML/);
    expect(failures).to.deep.equal([true, false]);
    lease.release();
    void runtime.close();
  });
});
