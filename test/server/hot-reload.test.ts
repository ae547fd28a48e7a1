import { expect } from 'chai';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../src/log.js';
import { Runtime } from '../../src/server/runtime.js';
import { startWebhook } from '../support/webhook.js';
import { review, workload } from '../support/reviews.js';
import { STATIC_VALIDATORS } from '../support/configs.js';
import { atomicWrite, projectedLayout } from '../harness/atomic-writer.js';
import { startHttpReceiver } from '../harness/http-receiver.js';
import { captureLogger } from '../alerting/helpers.js';

const policy = (nginx: 'allow' | 'deny') => `
${STATIC_VALIDATORS}policy:
  - pattern: "*:*"
    validator: deny
  - pattern: "docker.io/library/nginx"
    validator: ${nginx}
`;

/** A ConfigMap volume as the kubelet projects it (..data → ..<timestamp>, config.yaml → ..data/config.yaml). */
function configMapDir(text: string, extra: Record<string, string> = {}): { dir: string; file: string; update(text: string, extra?: Record<string, string>): void } {
  const dir = mkdtempSync(join(tmpdir(), 'imprimatur-cm-'));
  atomicWrite(dir, { 'config.yaml': text, ...extra });
  return { dir, file: join(dir, 'config.yaml'), update: (t, e = extra) => { atomicWrite(dir, { 'config.yaml': t, ...e }); } };
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
      const before = projectedLayout(cm.dir);
      cm.update(policy('allow'));
      // The kubelet's layout: the user-visible file is a symlink through ..data, and ..data moved to a new directory.
      const after = projectedLayout(cm.dir);
      expect(after.visible).to.deep.equal({ 'config.yaml': '..data/config.yaml' });
      expect(after.timestamped).to.deep.equal([after.data]);
      expect(after.data).to.not.equal(before.data);
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

  it('reloads when only an alert template in the projected alert-templates/ directory changes', async () => {
    const rx = await startHttpReceiver();
    const template = (word: string) => ({ 'alert-templates/team.json.hbs': `{"text": "${word} {{decision}} {{images}}"}` });
    const alerting = `${policy('deny')}alerting:\n  rejectRequest:\n    receivers:\n      - template: team\n        receiverUrl: ${rx.url}\n`;
    const cm = configMapDir(alerting, template('first'));
    const hook = await startWebhook('unused: true', { configFile: cm.file, reloadPollMs: 200, templateDirs: [join(cm.dir, 'alert-templates')] });
    const deny = () => hook.post(review('Pod', workload('Pod', { containers: ['quay.io/x/y:1'] })));
    try {
      expect(projectedLayout(cm.dir).visible).to.deep.equal({ 'config.yaml': '..data/config.yaml', 'alert-templates': '..data/alert-templates' });
      await deny();
      expect((await rx.waitForRequests(1))[0]!.json).to.deep.equal({ text: 'first reject quay.io/x/y:1' });
      const reloads: boolean[] = [];
      hook.server.runtime.onReload((ok) => reloads.push(ok));
      cm.update(alerting, template('second'));
      expect(await until(async () => reloads.length > 0), 'the template change is a reload').to.equal(true);
      expect(reloads).to.deep.equal([true]);
      await deny();
      expect((await rx.waitForRequests(2))[1]!.json).to.deep.equal({ text: 'second reject quay.io/x/y:1' });
    } finally {
      await hook.close();
      await rx.close();
    }
  });

  it('logs each distinct reload failure once and the recovery, while the metric counts every failed attempt', async () => {
    const log = captureLogger();
    const cm = configMapDir(policy('deny'));
    const hook = await startWebhook('unused: true', { configFile: cm.file, reloadPollMs: 100, logger: log.logger });
    const reloadLines = () => log.lines.filter((l) => /^configuration reload/.test(String(l.msg)));
    const failures = async () => {
      const text = (await hook.post(undefined, { method: 'GET', path: '/metrics' })).text;
      return Number(/^imprimatur_config_reloads_total\{result="failure"\} (\d+)/m.exec(text)?.[1]);
    };
    try {
      cm.update('validators: [\n  broken');
      await new Promise((r) => setTimeout(r, 1500)); // ~15 polls
      expect(await failures(), 'every failed attempt is counted').to.be.greaterThan(5);
      expect(reloadLines().map((l) => l.msg)).to.deep.equal(['configuration reload failed; the previous configuration stays in force (logged again only when the failure changes)']);
      expect(reloadLines()[0]!.error).to.match(/config\.yaml: is not valid YAML/);

      cm.update(policy('deny').replace('validator: deny', 'validator: nope'));
      await until(async () => reloadLines().length === 2);
      await new Promise((r) => setTimeout(r, 500));
      expect(reloadLines()).to.have.length(2, 'a different failure is logged once more');
      expect(reloadLines()[1]!.error).to.match(/unknown validator "nope"/);
      expect(reloadLines()[1]!.previousError).to.match(/not valid YAML/);

      // Back to the configuration in force: nothing to reload, but the failure is over.
      cm.update(policy('deny'));
      expect(await until(async () => reloadLines().length === 3)).to.equal(true);
      const recovered = reloadLines()[2]!;
      expect(recovered.msg).to.equal('configuration reload recovered: the file again holds the configuration in force');
      expect(recovered.level).to.equal(30);
      expect(recovered.failedAttempts).to.be.greaterThan(5);
      expect(recovered.lastError).to.match(/unknown validator "nope"/);

      cm.update('{');
      await until(async () => reloadLines().length === 4);
      cm.update(policy('allow'));
      await until(async () => reloadLines().length === 6);
      expect(reloadLines().slice(3).map((l) => l.msg)).to.deep.equal([
        'configuration reload failed; the previous configuration stays in force (logged again only when the failure changes)',
        'configuration reloaded',
        'configuration reload recovered: the new configuration is in force',
      ]);
      await new Promise((r) => setTimeout(r, 400));
      expect(reloadLines()).to.have.length(6, 'nothing more is logged while the file stays good');
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
