import { expect } from 'chai';
import Handlebars from 'handlebars';
import { readdirSync } from 'node:fs';
import { createAlertDispatcher, type AlertingDispatcher } from '../../src/alerting/dispatcher.js';
import { createJsonHandlebars } from '../../src/alerting/handlebars-json.js';
import { defaultTemplateDir } from '../../src/alerting/template-files.js';
import { silentLogger } from '../../src/log.js';
import { startHttpReceiver, type HttpReceiver } from '../harness/http-receiver.js';
import { HOSTILE, imageResult, makeEvent, neverAborted, tempTemplateDir } from './helpers.js';

const SHIPPED = ['sysdig', 'slack', 'opsgenie', 'msteams', 'keybase', 'ecs-1-12-0'];

function stringLeaves(value: unknown, out: string[] = []): string[] {
  if (typeof value === 'string') out.push(value);
  else if (Array.isArray(value)) value.forEach((v) => stringLeaves(v, out));
  else if (value && typeof value === 'object') Object.values(value).forEach((v) => stringLeaves(v, out));
  return out;
}

const hostileEvent = () =>
  makeEvent({
    uid: `uid ${HOSTILE}`,
    namespace: `ns ${HOSTILE}`,
    name: `name ${HOSTILE}`,
    user: `user ${HOSTILE}`,
    kind: 'Pod',
    message: `msg ${HOSTILE}`,
    results: [
      imageResult(`img1 ${HOSTILE}`, {
        details: {
          summary: 'denied',
          attestations: [{
            predicateType: 'https://cosign.sigstore.dev/attestation/vuln/v1', satisfied: false, code: 'ATTESTATION_POLICY_FAILED', summary: `vuln: policy false ${HOSTILE}`,
            found: 1, verifiedBy: ['scanner'], policy: { expression: `predicate.x == "${HOSTILE}"`, result: 'false', evaluations: [] }, trustRoots: [],
          }],
        },
      }),
      imageResult('registry.example/b:2', { outcome: 'admitted', reason: 'ok', digest: `sha256:${'b'.repeat(64)}` }),
    ],
  });

describe('alerting: templates', () => {
  let rx: HttpReceiver;
  let dispatcher: AlertingDispatcher | undefined;
  beforeEach(async () => {
    rx = await startHttpReceiver();
  });
  afterEach(async () => {
    await dispatcher?.close();
    dispatcher = undefined;
    await rx.close();
  });

  it('ships exactly the documented templates', () => {
    const files = readdirSync(defaultTemplateDir()).filter((f) => f.endsWith('.json.hbs')).map((f) => f.replace(/\.json\.hbs$/, ''));
    expect(files.sort()).to.deep.equal([...SHIPPED].sort());
  });

  for (const template of SHIPPED) {
    it(`${template}: POSTs valid JSON that carries hostile values verbatim`, async () => {
      dispatcher = createAlertDispatcher(
        { clusterIdentifier: `cluster ${HOSTILE}`, rejectRequest: { receivers: [{ template, receiverUrl: `${rx.url}/hook` }] } },
        { logger: silentLogger, podId: `pod ${HOSTILE}`, retries: 0 },
      );
      const result = await dispatcher.dispatch(hostileEvent(), neverAborted());
      expect(result.blockingFailures).to.deep.equal([]);
      const [req] = await rx.waitForRequests(1);
      expect(req!.method).to.equal('POST');
      expect(req!.url).to.equal('/hook');
      expect(req!.headers['content-type']).to.equal('application/json');
      expect(req!.json, `body is not JSON: ${req!.body}`).to.be.an('object');
      const leaves = stringLeaves(req!.json);
      for (const expected of [`cluster ${HOSTILE}`, `ns ${HOSTILE}`, `img1 ${HOSTILE}, registry.example/b:2`, `msg ${HOSTILE}`]) {
        expect(leaves.some((s) => s.includes(expected)), `${template} lost ${JSON.stringify(expected)}`).to.equal(true);
      }
      // Nothing was HTML-escaped.
      expect(req!.body).not.to.include('&lt;');
      expect(req!.body).not.to.include('&quot;');
    });
  }

  for (const template of SHIPPED) {
    it(`${template}: shows that a detection-mode alert was not blocked`, async () => {
      dispatcher = createAlertDispatcher(
        { rejectRequest: { receivers: [{ template, receiverUrl: rx.url }] } },
        { logger: silentLogger, podId: 'imprimatur-abc', retries: 0 },
      );
      await dispatcher.dispatch(makeEvent({ admitted: true, detectionMode: true, message: 'Imprimatur would deny Pod team-a/web-1: image "registry.example/app:1": no signature' }), neverAborted());
      await dispatcher.dispatch(makeEvent({ namespace: 'team-b' }), neverAborted());
      const [detected, blocked] = await rx.waitForRequests(2);
      const d = JSON.stringify(detected!.json);
      const b = JSON.stringify(blocked!.json);
      expect(d).to.contain('Imprimatur would reject a request (detection mode: it was admitted with a warning): Imprimatur would deny Pod team-a/web-1');
      expect(b).to.contain('Imprimatur rejected a request: ');
      // Besides the message, a field of its own says "detection" (for filters and dashboards).
      const marker = /detection-mode|"detection_mode":"true"|Mode: detection|\(detection mode\)|would-deny/;
      expect(d.replace(/Imprimatur would reject a request \(detection mode: it was admitted with a warning\)/g, '')).to.match(marker);
      expect(b).not.to.match(marker);
    });
  }

  it('sysdig: has the Sysdig Secure event shape', async () => {
    dispatcher = createAlertDispatcher(
      { clusterIdentifier: 'prod-eu', rejectRequest: { receivers: [{ template: 'sysdig', receiverUrl: rx.url, priority: 4 }] } },
      { logger: silentLogger, podId: 'imprimatur-abc', retries: 0 },
    );
    await dispatcher.dispatch(makeEvent(), neverAborted());
    const [req] = await rx.waitForRequests(1);
    const body = req!.json as { events: Array<Record<string, unknown>>; labels: Record<string, string> };
    expect(body.events).to.have.length(1);
    const ev = body.events[0]!;
    expect(ev.timestamp).to.equal('2024-05-06T07:08:09.123Z');
    expect(ev.rule).to.equal('Check image signature');
    expect(ev.priority).to.equal('warning');
    expect(ev.source).to.equal('imprimatur');
    expect(ev.tags).to.be.an('array').that.includes('reject');
    expect(ev.output).to.include('Imprimatur rejected a request').and.include('registry.example/app:1');
    expect(ev.output_fields).to.deep.include({
      cluster: 'prod-eu',
      namespace: 'team-a',
      kind: 'Pod',
      name: 'web-1',
      user: 'alice@example.com',
      request_id: 'req-1',
      decision: 'reject',
      images: 'registry.example/app:1',
      pod_id: 'imprimatur-abc',
    });
    expect(body.labels).to.deep.equal({ image: 'registry.example/app:1', message: 'Imprimatur rejected a request: image registry.example/app:1 has no valid signature' });
  });

  it('opsgenie: priority is P<priority>', async () => {
    dispatcher = createAlertDispatcher({ admitRequest: { receivers: [{ template: 'opsgenie', receiverUrl: rx.url, priority: 2 }] } }, { logger: silentLogger, retries: 0 });
    await dispatcher.dispatch(makeEvent({ decision: 'admit', message: '' }), neverAborted());
    const [req] = await rx.waitForRequests(1);
    expect((req!.json as Record<string, unknown>).priority).to.equal('P2');
    expect((req!.json as Record<string, unknown>).message).to.equal('Imprimatur admitted a request');
  });

  it('custom template: every variable, {{#each results}} and {{{json results}}}', async () => {
    const tpl = tempTemplateDir({
      'all.json.hbs': `{
        "alert_message": "{{alert_message}}", "priority": {{priority}}, "pod_id": "{{pod_id}}", "connaisseur_pod_id": "{{connaisseur_pod_id}}",
        "cluster": "{{cluster}}", "namespace": "{{namespace}}", "request_id": "{{request_id}}", "images": "{{images}}",
        "timestamp": "{{timestamp}}", "decision": "{{decision}}", "kind": "{{kind}}", "name": "{{name}}", "user": "{{user}}",
        "suppressed_count": {{suppressed_count}}, "receiver": "{{receiver}}",
        "each": [{{#each results}}"{{image}}|{{outcome}}|{{reason}}|{{digest}}"{{#unless @last}},{{/unless}}{{/each}}],
        "results": {{{json results}}},
        "results_as_string": "{{json results}}"
      }`,
    });
    try {
      dispatcher = createAlertDispatcher(
        { clusterIdentifier: 'c1', templateDirectory: tpl.dir, rejectRequest: { receivers: [{ name: 'custom', template: 'all', receiverUrl: rx.url, priority: 5 }] } },
        { logger: silentLogger, podId: `pod ${HOSTILE}`, retries: 0 },
      );
      const event = hostileEvent();
      await dispatcher.dispatch(event, neverAborted());
      const [req] = await rx.waitForRequests(1);
      const body = req!.json as Record<string, unknown>;
      const results = [
        {
          image: `img1 ${HOSTILE}`, rule: 'registry.example/*', validator: 'cosign', outcome: 'denied', reason: 'no valid signature', digest: null,
          attestations: [{
            predicateType: 'https://cosign.sigstore.dev/attestation/vuln/v1', satisfied: false, code: 'ATTESTATION_POLICY_FAILED', summary: `vuln: policy false ${HOSTILE}`,
            found: 1, verifiedBy: ['scanner'], policy: `predicate.x == "${HOSTILE}"`, policyResult: 'false',
          }],
        },
        { image: 'registry.example/b:2', rule: 'registry.example/*', validator: 'cosign', outcome: 'admitted', reason: 'ok', digest: `sha256:${'b'.repeat(64)}`, attestations: [] },
      ];
      expect(body).to.deep.equal({
        alert_message: `Imprimatur rejected a request: msg ${HOSTILE}`,
        priority: 5,
        pod_id: `pod ${HOSTILE}`,
        connaisseur_pod_id: `pod ${HOSTILE}`,
        cluster: 'c1',
        namespace: `ns ${HOSTILE}`,
        request_id: `uid ${HOSTILE}`,
        images: `img1 ${HOSTILE}, registry.example/b:2`,
        timestamp: '2024-05-06T07:08:09.123Z',
        decision: 'reject',
        kind: 'Pod',
        name: `name ${HOSTILE}`,
        user: `user ${HOSTILE}`,
        suppressed_count: 0,
        receiver: 'custom',
        each: [`img1 ${HOSTILE}|denied|no valid signature|`, `registry.example/b:2|admitted|ok|sha256:${'b'.repeat(64)}`],
        results,
        results_as_string: JSON.stringify(results),
      });
    } finally {
      tpl.cleanup();
    }
  });

  it('JSON escaping is private to its environment: global Handlebars still HTML-escapes', () => {
    const hb = createJsonHandlebars();
    expect(hb.compile('"{{v}}"')({ v: '<a href="x">\\' })).to.equal('"<a href=\\"x\\">\\\\"');
    expect(Handlebars.compile('{{v}}')({ v: '<a>' })).to.equal('&lt;a&gt;');
  });
});
