/**
 * Connaisseur's alerting, migrated unchanged (issue 12 items 4, 6, 11): `<name>.json` templates, an unknown
 * variable is a load-time error listing the variables, an empty rendering sends nothing, empty payloadFields /
 * customHeaders are refused, priorities are any whole number; and what check-config can know (item 10).
 */
import { expect } from 'chai';
import { parseAlertingConfig } from '../../src/alerting/config.js';
import { createAlertDispatcher } from '../../src/alerting/dispatcher.js';
import { ConfigError } from '../../src/errors.js';
import { silentLogger } from '../../src/log.js';
import { startHttpReceiver, type HttpReceiver } from '../harness/http-receiver.js';
import { makeEvent, neverAborted, tempTemplateDir } from './helpers.js';

/** A Connaisseur template (charts/connaisseur/alert_payload_templates style): `{{ var }}` with spaces, `.json`. */
const CONNAISSEUR_TEMPLATE = `{
    "message": "{{ alert_message }}",
    "details": { "pod": "{{ connaisseur_pod_id }}", "cluster": "{{ cluster }}", "namespace": "{{ namespace }}",
                 "created": "{{ timestamp }}", "request": "{{ request_id }}", "images": "{{ images }}" },
    "priority": "P{{ priority }}"
}`;

describe('alerting: Connaisseur templates and receivers', () => {
  let rx: HttpReceiver;
  const dirs = tempTemplateDir({
    'team.json': CONNAISSEUR_TEMPLATE,
    'both.json': '{"from": "json"}',
    'both.json.hbs': '{"from": "hbs"}',
    'typo.json': '{"name": "{{ connaisseur_podsss }}"}',
    'nothing.json': '',
    'empty-object.json': '  {}\n',
    'prio.json': '{"prio": "{{ priority }}"}',
  });
  before(async () => { rx = await startHttpReceiver(); });
  after(async () => {
    await rx.close();
    dirs.cleanup();
  });

  const receiver = (template: string, extra: Record<string, unknown> = {}) => ({ template, receiverUrl: rx.url, failIfAlertSendingFails: true, ...extra });

  it('finds a Connaisseur <name>.json template and renders it with the same variables', async () => {
    const d = createAlertDispatcher({ templateDirectory: dirs.dir, clusterIdentifier: 'prod', admitRequest: { receivers: [receiver('team', { priority: 4 })] } }, { logger: silentLogger, podId: 'pod-1', retries: 0 });
    const result = await d.dispatch(makeEvent({ decision: 'admit', namespace: 'team-a', uid: 'u-1' }), neverAborted());
    await d.close();
    expect(result.blockingFailures).to.deep.equal([]);
    const body = rx.requests.at(-1)!.json as Record<string, Record<string, string> | string>;
    expect(body.priority).to.equal('P4');
    expect(body.details).to.deep.include({ pod: 'pod-1', cluster: 'prod', namespace: 'team-a', request: 'u-1', images: 'registry.example/app:1' });
    expect(body.message).to.match(/^Imprimatur admitted a request/);
  });

  it('prefers <name>.json.hbs over <name>.json in the same directory', async () => {
    const d = createAlertDispatcher({ templateDirectory: dirs.dir, admitRequest: { receivers: [receiver('both')] } }, { logger: silentLogger, retries: 0 });
    await d.dispatch(makeEvent({ decision: 'admit' }), neverAborted());
    await d.close();
    expect(rx.requests.at(-1)!.json).to.deep.equal({ from: 'hbs' });
  });

  it('an unknown variable is a load-time error naming it and listing the variables', () => {
    const { problems } = parseAlertingConfig({ templateDirectory: dirs.dir, admitRequest: { receivers: [receiver('typo')] } }, 'alerting');
    expect(problems).to.have.length(1);
    expect(problems[0]!.path).to.equal('alerting.admitRequest.receivers[0].template');
    expect(problems[0]!.message).to.match(/uses \{\{connaisseur_podsss\}\} \(line 1\), which is not a template variable .*use one of: alert_message, message, .*connaisseur_pod_id, .*; fix .*typo\.json$/);
  });

  it('a template that renders nothing (blank or {}) sends nothing and is not a failure, as in Connaisseur', async () => {
    const outcomes: string[] = [];
    const before = rx.requests.length;
    const d = createAlertDispatcher(
      { templateDirectory: dirs.dir, admitRequest: { receivers: [receiver('nothing'), receiver('empty-object', { name: 'second' })] } },
      { logger: silentLogger, retries: 0, onOutcome: (_r, o) => outcomes.push(o) },
    );
    const result = await d.dispatch(makeEvent({ decision: 'admit' }), neverAborted());
    await d.close();
    expect(result.blockingFailures).to.deep.equal([]);
    expect(outcomes).to.deep.equal(['empty', 'empty']);
    expect(rx.requests.length).to.equal(before);
    expect(d.stats().empty).to.equal(2);
  });

  it('priorities are any whole number ≥ 0 (Connaisseur tests use 69 and 1337)', async () => {
    const d = createAlertDispatcher({ templateDirectory: dirs.dir, admitRequest: { receivers: [receiver('prio', { priority: 69 }), receiver('prio', { priority: 1337, name: 'big' })] } }, { logger: silentLogger, retries: 0 });
    await d.dispatch(makeEvent({ decision: 'admit' }), neverAborted());
    await d.close();
    expect(rx.requests.slice(-2).map((r) => r.json)).to.have.deep.members([{ prio: '69' }, { prio: '1337' }]);
    expect(() => createAlertDispatcher({ admitRequest: { receivers: [receiver('slack', { priority: -1 })] } }, { logger: silentLogger })).to.throw(ConfigError, /priority: must be >= 0/);
  });

  it('a receiver URL without http(s) or a template name that is not a file name is refused, quoting the value (Connaisseur TestSendError)', () => {
    expect(() => createAlertDispatcher({ admitRequest: { receivers: [receiver('slack', { receiverUrl: 'ptth://localhost:8080' })] } }, { logger: silentLogger }))
      .to.throw(ConfigError, /receivers\[0\]\.receiverUrl: "ptth:\/\/localhost:8080" is not valid: http\(s\) URL the alert is POSTed to\./);
    expect(() => createAlertDispatcher({ admitRequest: { receivers: [receiver("doesn't_exist")] } }, { logger: silentLogger }))
      .to.throw(ConfigError, /receivers\[0\]\.template: "doesn't_exist" is not valid: Template name/);
  });

  it('empty payloadFields or customHeaders are refused, as Connaisseur\'s validation does', () => {
    try {
      createAlertDispatcher({ admitRequest: { receivers: [receiver('slack', { payloadFields: {}, customHeaders: [] })] } }, { logger: silentLogger });
      expect.fail('should be refused');
    } catch (err) {
      const problems = (err as ConfigError).problems.map((p) => `${p.path}: ${p.message}`);
      expect(problems).to.include('alerting.admitRequest.receivers[0].payloadFields: is empty; add at least one entry or remove the key');
      expect(problems).to.include('alerting.admitRequest.receivers[0].customHeaders: is an empty list; add at least one entry or remove the key');
    }
  });
});

describe('alerting: what check-config can know (check mode) and what serve needs', () => {
  const section = {
    templateDirectory: '/app/config/alert-templates',
    rejectRequest: {
      receivers: [
        { template: 'sysdig', receiverUrl: 'https://eu1.app.sysdig.com/api/v1/eventsDispatch/ingest', customHeaders: ['Authorization: Bearer ${SYSDIG_SECURE_API_TOKEN}'] },
        { template: 'my-team', receiverUrl: 'https://hooks.example.com/${HOOK_PATH}' },
      ],
    },
  };

  it('serve: an unset variable and a missing templateDirectory are errors', () => {
    const { problems } = parseAlertingConfig(section, 'alerting', { env: {}, mode: 'serve' });
    expect(problems.map((p) => p.path)).to.have.members([
      'alerting.templateDirectory',
      'alerting.rejectRequest.receivers[0].customHeaders[0]',
      'alerting.rejectRequest.receivers[1].receiverUrl',
      'alerting.rejectRequest.receivers[1].template',
    ]);
  });

  it('check: the same are warnings — only the pod has the Secret and the mount', () => {
    const { problems, warnings } = parseAlertingConfig(section, 'alerting', { env: {}, mode: 'check', podOnlyEnv: new Set(['SYSDIG_SECURE_API_TOKEN']) });
    expect(problems).to.deep.equal([]);
    const byPath = new Map(warnings.map((w) => [w.path, w.message]));
    expect(byPath.get('alerting.templateDirectory')).to.match(/does not exist here; templates that are not shipped with Imprimatur cannot be checked/);
    expect(byPath.get('alerting.rejectRequest.receivers[0].customHeaders[0]')).to.match(/SYSDIG_SECURE_API_TOKEN, which the pod gets from a Secret/);
    expect(byPath.get('alerting.rejectRequest.receivers[1].receiverUrl')).to.match(/HOOK_PATH, which is not set here; it must be set in the webhook's environment/);
    expect(byPath.get('alerting.rejectRequest.receivers[1].template')).to.match(/"my-team" is not shipped with Imprimatur; it must be in \/app\/config\/alert-templates in the pod/);
  });

  it('check: a URL that is broken apart from its variable is still an error', () => {
    const { problems } = parseAlertingConfig({ admitRequest: { receivers: [{ template: 'slack', receiverUrl: 'https://${HOST}:notaport/x' }] } }, 'alerting', { env: {}, mode: 'check' });
    expect(problems.map((p) => p.path)).to.deep.equal(['alerting.admitRequest.receivers[0].receiverUrl']);
  });
});
