import { expect } from 'chai';
import { startHttpReceiver, type HttpReceiver } from '../harness/http-receiver.js';
import { startWebhook } from '../support/webhook.js';
import { review, workload } from '../support/reviews.js';
import { staticPolicy } from '../support/configs.js';

const config = (admitUrl: string, rejectUrl: string, opts: { fail?: boolean; detection?: boolean } = {}) => `
${staticPolicy()}features:
  detectionMode: ${opts.detection ? 'true' : 'false'}
alerting:
  clusterIdentifier: prod-eu-1
  admitRequest:
    receivers:
      - template: sysdig
        receiverUrl: ${admitUrl}
        failIfAlertSendingFails: ${opts.fail ? 'true' : 'false'}
  rejectRequest:
    receivers:
      - template: slack
        receiverUrl: ${rejectUrl}
`;

describe('alerts through POST /mutate (real HTTP receivers)', () => {
  let admit: HttpReceiver;
  let reject: HttpReceiver;
  beforeEach(async () => {
    admit = await startHttpReceiver();
    reject = await startHttpReceiver();
  });
  afterEach(async () => {
    await admit.close();
    await reject.close();
  });

  it('sends a Sysdig event for an admitted Pod and a Slack message for a denied one, with the exact images', async () => {
    const hook = await startWebhook(config(admit.url, reject.url));
    try {
      const ok = await hook.post(review('Pod', workload('Pod', { containers: ['registry.k8s.io/pause:3.9'] }, 'pause')));
      expect(ok.json.response.allowed).to.equal(true);
      const [event] = await admit.waitForRequests(1);
      const body = event!.json as any;
      expect(body.events[0].output_fields).to.include({ cluster: 'prod-eu-1', namespace: 'team-a', kind: 'Pod', name: 'pause', decision: 'admit' });
      expect(JSON.stringify(body)).to.contain('registry.k8s.io/pause:3.9');

      const bad = await hook.post(review('Pod', workload('Pod', { containers: ['nginx:"1.25\\\n'] }, 'web')));
      expect(bad.json.response.allowed).to.equal(false);
      const [msg] = await reject.waitForRequests(1);
      expect(msg!.headers['content-type']).to.match(/application\/json/);
      expect(JSON.stringify(msg!.json)).to.contain(JSON.stringify('nginx:"1.25\\\n').slice(1, -1));
    } finally {
      await hook.close();
    }
  });

  it('does not wait for a slow receiver when failIfAlertSendingFails is false', async () => {
    admit.setDefault({ status: 200, delayMs: 2500 });
    const hook = await startWebhook(config(admit.url, reject.url));
    try {
      const res = await hook.post(review('Pod', workload('Pod', { containers: ['registry.k8s.io/pause:3.9'] })));
      expect(res.json.response.allowed).to.equal(true);
      await admit.waitForRequests(1);
      expect(admit.answered, 'the receiver is still blocked while the review already returned').to.equal(0);
    } finally {
      await hook.close();
    }
  });

  it('denies an admit whose required alert cannot be sent (failIfAlertSendingFails: true), saying so', async () => {
    admit.setDefault({ status: 500 });
    const hook = await startWebhook(config(admit.url, reject.url, { fail: true }));
    try {
      const res = await hook.post(review('Pod', workload('Pod', { containers: ['registry.k8s.io/pause:3.9'] })));
      expect(res.json.response.allowed).to.equal(false);
      expect(res.json.response.status.message).to.match(/alert could not be sent/).and.match(/failIfAlertSendingFails/);
    } finally {
      await hook.close();
    }
  });

  it('detection mode: a would-be denial goes to the rejectRequest receivers, marked as detection; admitRequest receivers get only real admissions', async () => {
    const hook = await startWebhook(config(admit.url, reject.url, { detection: true }));
    try {
      const res = await hook.post(review('Pod', workload('Pod', { containers: ['quay.io/someone/app:1.0'] }, 'web')));
      expect(res.json.response.allowed, 'detection mode never blocks').to.equal(true);
      expect(res.json.response.warnings[0]).to.match(/^detection mode: would deny image "quay.io\/someone\/app:1.0"/);
      const [slack] = await reject.waitForRequests(1);
      const text = JSON.stringify(slack!.json);
      expect(text).to.contain('Imprimatur would reject a request (detection mode: admitted)');
      expect(text).to.contain('Mode: detection (not blocked)');
      expect(text).to.contain('quay.io/someone/app:1.0').and.contain('denied by static validator');

      const ok = await hook.post(review('Pod', workload('Pod', { containers: ['registry.k8s.io/pause:3.9'] }, 'pause')));
      expect(ok.json.response.allowed).to.equal(true);
      const [event] = await admit.waitForRequests(1);
      const fields = (event!.json as any).events[0].output_fields;
      expect(fields).to.include({ name: 'pause', decision: 'admit', detection_mode: 'false', admitted: 'true' });
      await new Promise((r) => setTimeout(r, 300));
      expect(admit.requests, 'the would-be denial was not sent to the admit receiver').to.have.length(1);
      expect(reject.requests, 'the verified Pod was not sent to the reject receiver').to.have.length(1);
    } finally {
      await hook.close();
    }
  });

  it('detection mode: a slow reject receiver never delays the admission, even with failIfAlertSendingFails', async () => {
    reject.setDefault({ status: 500, delayMs: 2500 });
    const hook = await startWebhook(config(admit.url, reject.url, { detection: true }).replace(
      'template: slack\n', 'template: slack\n        failIfAlertSendingFails: true\n'));
    try {
      const started = Date.now();
      const res = await hook.post(review('Pod', workload('Pod', { containers: ['quay.io/someone/app:1.0'] })));
      expect(res.json.response.allowed).to.equal(true);
      expect(Date.now() - started).to.be.below(2000);
      await reject.waitForRequests(1);
    } finally {
      await hook.close();
    }
  });

  it('blocking mode: a denial goes to the rejectRequest receivers as a rejection, not as detection', async () => {
    const hook = await startWebhook(config(admit.url, reject.url, { detection: false }).replace('template: slack', 'template: sysdig'));
    try {
      const res = await hook.post(review('Pod', workload('Pod', { containers: ['quay.io/someone/app:1.0'] }, 'web')));
      expect(res.json.response.allowed).to.equal(false);
      const [event] = await reject.waitForRequests(1);
      const ev = (event!.json as any).events[0];
      expect(ev.output_fields).to.include({ name: 'web', decision: 'reject', detection_mode: 'false', admitted: 'false' });
      expect(ev.tags).to.deep.equal(['imprimatur', 'image-signature', 'reject']);
      expect(ev.output).to.match(/^Imprimatur rejected a request: Imprimatur denied Pod team-a\/web: image "quay.io\/someone\/app:1.0"/);
    } finally {
      await hook.close();
    }
  });

  it('a dry run (kubectl --dry-run=server) is alerted like the real request, marked dry_run, and never suppresses it', async () => {
    const hook = await startWebhook(config(admit.url, reject.url).replace('template: slack', 'template: sysdig').replace(`receiverUrl: ${reject.url}\n`, `receiverUrl: ${reject.url}\n        dedupeSeconds: 300\n`));
    try {
      const request = review('Pod', workload('Pod', { containers: ['quay.io/someone/app:1.0'] }, 'web'));
      (request.request as Record<string, unknown>).dryRun = true;
      const dry = await hook.post(request);
      expect(dry.json.response.allowed).to.equal(false);
      const [first] = await reject.waitForRequests(1);
      const probe = (first!.json as any).events[0];
      expect(probe.output_fields).to.include({ name: 'web', decision: 'reject', dry_run: 'true', admitted: 'false' });
      expect(probe.tags).to.include('dry-run');
      expect(probe.output).to.match(/^Imprimatur rejected a request \(dry run: nothing was created or changed\): Imprimatur denied Pod team-a\/web/);

      const real = await hook.post(review('Pod', workload('Pod', { containers: ['quay.io/someone/app:1.0'] }, 'web')));
      expect(real.json.response.allowed).to.equal(false);
      const events = await reject.waitForRequests(2);
      const ev = (events[1]!.json as any).events[0];
      expect(ev.output_fields, 'the real request is not deduplicated against its dry run').to.include({ dry_run: 'false', decision: 'reject' });
      expect(ev.tags).not.to.include('dry-run');
      expect(ev.output).to.match(/^Imprimatur rejected a request: /);
    } finally {
      await hook.close();
    }
  });

  it('namespace and rule detection send the same alert as global detection (rejectRequest, detection_mode true, admitted true)', async () => {
    const fieldsOf = async (yamlText: string, path: string): Promise<Record<string, unknown>> => {
      const before = reject.requests.length;
      const hook = await startWebhook(yamlText);
      try {
        const res = await hook.post(review('Pod', workload('Pod', { containers: ['quay.io/someone/app:1.0'] }, 'web')), { path });
        expect(res.json.response.allowed, path).to.equal(true);
        const events = await reject.waitForRequests(before + 1);
        const ev = (events[before]!.json as any).events[0];
        expect(ev.output).to.match(/^Imprimatur would reject a request/);
        return ev.output_fields;
      } finally {
        await hook.close();
      }
    };
    const sysdig = (text: string) => text.replace('template: slack', 'template: sysdig');
    const global = await fieldsOf(sysdig(config(admit.url, reject.url, { detection: true })), '/mutate');
    const namespace = await fieldsOf(sysdig(config(admit.url, reject.url)), '/mutate/detect');
    const rule = await fieldsOf(sysdig(config(admit.url, reject.url)).replace('  - pattern: "*:*"\n    validator: deny\n', '  - pattern: "*:*"\n    validator: deny\n    with:\n      enforcement: detect\n'), '/mutate');
    for (const fields of [global, namespace, rule]) {
      expect(fields).to.include({ name: 'web', decision: 'reject', detection_mode: 'true', admitted: 'true' });
    }
    const comparable = (f: Record<string, unknown>) => ({ ...f, request_id: undefined, timestamp: undefined });
    expect(comparable(namespace)).to.deep.equal(comparable(global));
    expect(comparable(rule)).to.deep.equal(comparable(global));
    expect(admit.requests, 'no would-be denial reaches the admit receiver').to.have.length(0);
  });

  it('detection mode: a failed required alert becomes a warning, the request is admitted', async () => {
    admit.setDefault({ status: 500 });
    const hook = await startWebhook(config(admit.url, reject.url, { fail: true, detection: true }));
    try {
      const res = await hook.post(review('Pod', workload('Pod', { containers: ['registry.k8s.io/pause:3.9'] })));
      expect(res.json.response.allowed).to.equal(true);
      expect(res.json.response.warnings.join('\n')).to.match(/alert could not be sent/);
    } finally {
      await hook.close();
    }
  });
});
