import { expect } from 'chai';
import { checkAlertingConfig, parseAlertingConfig } from '../../src/alerting/config.js';
import { createAlertDispatcher } from '../../src/alerting/dispatcher.js';
import { ConfigError } from '../../src/errors.js';
import { silentLogger } from '../../src/log.js';
import { tempTemplateDir } from './helpers.js';

const URL_OK = 'https://alerts.example.com/hook';
const env = { SYSDIG_SECURE_API_TOKEN: 's3cr3t-token', HOOK_PATH: 'T000/B000/XXXX' };

function check(raw: unknown, extraEnv: NodeJS.ProcessEnv = env) {
  return checkAlertingConfig(raw, 'alerting', { templateDirs: [], env: extraEnv });
}
const reject = (receiver: Record<string, unknown>) => ({ rejectRequest: { receivers: [receiver] } });

describe('alerting: config checks', () => {
  it('accepts a Sysdig receiver with an env-var token and applies defaults', () => {
    const raw = {
      admitRequest: {
        receivers: [{ template: 'sysdig', receiverUrl: 'https://eu1.app.sysdig.com/api/v1/eventsDispatch/ingest', customHeaders: ['Authorization: Bearer ${SYSDIG_SECURE_API_TOKEN}'] }],
      },
    };
    const { config, problems } = parseAlertingConfig(raw, 'alerting', { env });
    expect(problems).to.deep.equal([]);
    expect(config!.clusterIdentifier).to.equal('not specified');
    const r = config!.receivers[0]!;
    expect(r).to.deep.include({ name: 'admitRequest.receivers[0]', decision: 'admit', priority: 3, failIfAlertSendingFails: false, dedupeSeconds: 0 });
    expect(r.headers).to.deep.equal([{ name: 'Authorization', value: 'Bearer s3cr3t-token' }]);
    expect(r.receiverOrigin).to.equal('https://eu1.app.sysdig.com');
  });

  it('expands ${VAR} in the receiverUrl path (secret webhook URLs)', () => {
    const { config, problems } = parseAlertingConfig(reject({ template: 'slack', receiverUrl: 'https://hooks.slack.com/services/${HOOK_PATH}' }), 'alerting', { env });
    expect(problems).to.deep.equal([]);
    expect(config!.receivers[0]!.receiverUrl).to.equal('https://hooks.slack.com/services/T000/B000/XXXX');
    expect(config!.receivers[0]!.receiverOrigin).to.equal('https://hooks.slack.com');
  });

  it('unknown template → error at .template listing the available ones', () => {
    const problems = check(reject({ template: 'pagerduty', receiverUrl: URL_OK }));
    expect(problems).to.have.length(1);
    expect(problems[0]!.path).to.equal('alerting.rejectRequest.receivers[0].template');
    expect(problems[0]!.message).to.include('unknown template "pagerduty"').and.include('slack').and.include('templateDirectory');
  });

  it('a template that renders invalid JSON with hostile sample data → error at .template', () => {
    // Triple-stash inside a string: fine for plain text, broken by a quote in the value.
    const tpl = tempTemplateDir({ 'naive.json.hbs': '{ "text": "{{{alert_message}}}" }', 'list.json.hbs': '[ "{{namespace}}" ]', 'broken.json.hbs': '{ "a": "{{#if x}}" }' });
    try {
      const problems = check({
        templateDirectory: tpl.dir,
        rejectRequest: {
          receivers: [
            { template: 'naive', receiverUrl: URL_OK },
            { template: 'list', receiverUrl: URL_OK },
            { template: 'broken', receiverUrl: URL_OK },
          ],
        },
      });
      expect(problems.map((p) => p.path)).to.deep.equal([
        'alerting.rejectRequest.receivers[0].template',
        'alerting.rejectRequest.receivers[1].template',
        'alerting.rejectRequest.receivers[2].template',
      ]);
      expect(problems[0]!.message).to.include('does not render valid JSON').and.include('naive.json.hbs');
      expect(problems[1]!.message).to.include('must render a JSON object');
      expect(problems[2]!.message).to.include('not valid Handlebars');
    } finally {
      tpl.cleanup();
    }
  });

  it('templateDirectory templates take precedence over shipped ones', () => {
    const tpl = tempTemplateDir({ 'slack.json.hbs': '{ "mine": "{{namespace}}" }' });
    try {
      const { config } = parseAlertingConfig({ templateDirectory: tpl.dir, ...reject({ template: 'slack', receiverUrl: URL_OK }) }, 'alerting', { env });
      expect(config!.receivers[0]!.templateFile.startsWith(tpl.dir)).to.equal(true);
    } finally {
      tpl.cleanup();
    }
  });

  it('templateDirectory must be an existing absolute directory', () => {
    expect(check({ templateDirectory: 'templates' })[0]).to.deep.include({ path: 'alerting.templateDirectory' });
    const missing = check({ templateDirectory: '/nonexistent/imprimatur-templates' });
    expect(missing[0]!.path).to.equal('alerting.templateDirectory');
    expect(missing[0]!.message).to.include('does not exist');
  });

  for (const [url, fragment] of [
    ['not a url', 'not a valid URL'],
    ['ftp://alerts.example.com/x', 'only http and https'],
    ['https://user:pw@alerts.example.com/x', 'contains credentials'],
    ['https://alerts.example.com/${UNSET_HOOK_VAR}', 'UNSET_HOOK_VAR'],
  ] as const) {
    it(`bad receiverUrl ${JSON.stringify(url)} → error at .receiverUrl`, () => {
      const problems = check(reject({ template: 'slack', receiverUrl: url }));
      expect(problems).to.have.length(1);
      expect(problems[0]!.path).to.equal('alerting.rejectRequest.receivers[0].receiverUrl');
      expect(problems[0]!.message).to.include(fragment);
    });
  }

  for (const [line, fragment] of [
    ['Authorization Bearer x', 'Name: value'],
    ['Bad Name: x', 'invalid header name'],
    ['Content-Length: 5', 'set automatically'],
    ['X-Token: ${NOT_SET_ANYWHERE}', 'NOT_SET_ANYWHERE, which is not set'],
    ['X-Token: ${1BAD}', 'not a valid environment variable name'],
  ] as const) {
    it(`bad header ${JSON.stringify(line)} → error at .customHeaders[1]`, () => {
      const problems = check(reject({ template: 'slack', receiverUrl: URL_OK, customHeaders: ['X-Ok: fine', line] }));
      expect(problems).to.have.length(1);
      expect(problems[0]!.path).to.equal('alerting.rejectRequest.receivers[0].customHeaders[1]');
      expect(problems[0]!.message).to.include(fragment);
    });
  }

  it('a header whose variable holds a line break is an error that does not reveal the value', () => {
    const problems = check(reject({ template: 'slack', receiverUrl: URL_OK, customHeaders: ['X-Token: ${T}'] }), { T: 'abc\ninjected: yes' });
    expect(problems).to.have.length(1);
    expect(problems[0]!.message).to.include('line break');
    expect(JSON.stringify(problems)).not.to.include('injected');
  });

  it('a trailing newline from a Secret is trimmed, not an error', () => {
    const { config } = parseAlertingConfig(reject({ template: 'slack', receiverUrl: URL_OK, customHeaders: ['X-Token: ${T}'] }), 'alerting', { env: { T: 'tok\n' } });
    expect(config!.receivers[0]!.headers).to.deep.equal([{ name: 'X-Token', value: 'tok' }]);
  });

  it('duplicate receiver names and duplicate headers are errors', () => {
    const problems = check({
      admitRequest: { receivers: [{ name: 'ops', template: 'slack', receiverUrl: URL_OK }] },
      rejectRequest: { receivers: [{ name: 'ops', template: 'slack', receiverUrl: URL_OK, customHeaders: ['X-A: 1', 'x-a: 2'] }] },
    });
    expect(problems.map((p) => p.path)).to.deep.equal(['alerting.rejectRequest.receivers[0].name', 'alerting.rejectRequest.receivers[0].customHeaders[1]']);
  });

  it('reports every problem, not just the first', () => {
    const problems = check({
      admitRequest: { receivers: [{ template: 'nope', receiverUrl: 'ftp://x' }] },
      rejectRequest: { receivers: [{ template: 'slack', receiverUrl: URL_OK, customHeaders: ['broken'] }] },
    });
    expect(problems.map((p) => p.path)).to.deep.equal([
      'alerting.admitRequest.receivers[0].receiverUrl',
      'alerting.admitRequest.receivers[0].template',
      'alerting.rejectRequest.receivers[0].customHeaders[0]',
    ]);
  });

  it('createAlertDispatcher throws ConfigError for schema violations, with paths', () => {
    const attempt = () =>
      createAlertDispatcher({ rejectRequest: { receivers: [{ template: 'slack', receiverUrl: URL_OK, priority: -1, colour: 'red' }] } }, { logger: silentLogger });
    expect(attempt).to.throw(ConfigError);
    try {
      attempt();
    } catch (err) {
      const paths = (err as ConfigError).problems.map((p) => p.path);
      expect(paths).to.include('alerting.rejectRequest.receivers[0].priority');
      expect(paths).to.include('alerting.rejectRequest.receivers[0].colour');
    }
  });

  it('createAlertDispatcher throws ConfigError for load-time problems', () => {
    expect(() => createAlertDispatcher(reject({ template: 'nope', receiverUrl: URL_OK }), { logger: silentLogger }))
      .to.throw(ConfigError)
      .with.property('message')
      .that.includes('alerting.rejectRequest.receivers[0].template');
  });

  it('no alerting section → a dispatcher without receivers', async () => {
    const d = createAlertDispatcher(undefined, { logger: silentLogger });
    expect(d.receivers).to.deep.equal([]);
    await d.close();
  });
});
