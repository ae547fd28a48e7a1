/**
 * The config's logLevel / logFormat are applied (Connaisseur's keys), its warnings are logged once per loaded
 * config, and the load / reload lines say whether detection mode is on (issue 19 item 10).
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { expect } from 'chai';
import { Runtime } from '../../src/server/runtime.js';
import { captureLogger } from '../alerting/helpers.js';
import { STATIC_VALIDATORS } from '../support/configs.js';
import { writeTempConfig } from '../support/webhook.js';

const CONFIG = (extra: string) => `${STATIC_VALIDATORS}policy:\n  - pattern: "*:*"\n    validator: deny\n${extra}`;

/** Runs a tiny program with a createLogger logger and the given settings applied; returns its stderr. */
function logOutput(settings: string): string {
  const program = `
    import { createLogger, applyLogSettings } from './src/log.ts';
    const logger = createLogger('info');
    applyLogSettings(logger, ${settings}, {});
    logger.debug('hidden unless debug');
    logger.info({ uid: 'u-1' }, 'admission decision');
    logger.flush();`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', program], { encoding: 'utf8' });
  expect(r.status, r.stderr).to.equal(0);
  return r.stderr;
}

describe('log settings from the config', () => {
  it('logFormat json writes one line per entry', () => {
    const lines = logOutput("{ logFormat: 'json' }").trim().split('\n');
    expect(lines).to.have.length(1);
    expect(JSON.parse(lines[0]!)).to.include({ msg: 'admission decision', uid: 'u-1' });
  });

  it('logFormat json-pretty writes each entry indented over several lines (Connaisseur\'s default format)', () => {
    const out = logOutput("{ logFormat: 'json-pretty' }");
    expect(out.split('\n').length).to.be.greaterThan(4);
    expect(out).to.match(/^\{\n {2}"level": 30,/);
    expect(JSON.parse(out)).to.include({ msg: 'admission decision', uid: 'u-1' });
  });

  it('logLevel debug lets debug lines through (IMPRIMATUR_LOG_LEVEL, when set, wins)', () => {
    expect(logOutput("{ logFormat: 'json', logLevel: 'debug' }")).to.contain('hidden unless debug');
    expect(logOutput("{ logFormat: 'json' }")).to.not.contain('hidden unless debug');
  });

  it('logs each config warning once per loaded config, and says on reload whether detection mode is on', () => {
    const log = captureLogger();
    const file = writeTempConfig(CONFIG('alerts: []\n'));
    const runtime = new Runtime(file, { logger: log.logger, reloadPollMs: 0 });
    const warnings = () => log.lines.filter((l) => String(l.msg).startsWith('configuration warning'));
    expect(warnings().map((l) => l.msg)).to.deep.equal([
      "configuration warning: alerts: has no effect in Imprimatur (accepted for Connaisseur compatibility): Connaisseur's chart carries this key but never reads it; alert receivers are configured in the top-level alerting section",
    ]);
    runtime.reload();
    expect(warnings(), 'an unchanged file is not loaded again').to.have.length(1);
    writeFileSync(file, CONFIG('alerts: []\nfeatures:\n  detectionMode: true\n'));
    runtime.reload();
    expect(warnings()).to.have.length(2);
    const reloaded = log.lines.find((l) => l.msg === 'configuration reloaded')!;
    expect(reloaded).to.include({ detectionMode: true, validators: 2, rules: 1 });
    void runtime.close();
  });
});
