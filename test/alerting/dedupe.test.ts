import { expect } from 'chai';
import { Deduper, dedupeKey } from '../../src/alerting/dedupe.js';
import { createAlertDispatcher, type AlertingDispatcher } from '../../src/alerting/dispatcher.js';
import type { AlertOutcome } from '../../src/alerting/types.js';
import { silentLogger } from '../../src/log.js';
import { startHttpReceiver, type HttpReceiver } from '../harness/http-receiver.js';
import { imageResult, makeEvent, neverAborted, tempTemplateDir } from './helpers.js';

describe('alerting: dedupe', () => {
  let rx: HttpReceiver;
  let d: AlertingDispatcher | undefined;
  const tpl = tempTemplateDir({ 'count.json.hbs': '{ "n": {{suppressed_count}}, "message": "{{alert_message}}", "ns": "{{namespace}}" }' });
  after(() => tpl.cleanup());
  beforeEach(async () => {
    rx = await startHttpReceiver();
  });
  afterEach(async () => {
    await d?.close();
    d = undefined;
    await rx.close();
  });

  it('suppresses identical alerts within the window and reports the count in the next one', async () => {
    let clock = 1_000_000;
    const outcomes: AlertOutcome[] = [];
    d = createAlertDispatcher(
      { templateDirectory: tpl.dir, rejectRequest: { receivers: [{ template: 'count', receiverUrl: rx.url, dedupeSeconds: 60 }] } },
      { logger: silentLogger, now: () => clock, retries: 0, onOutcome: (_r, o) => outcomes.push(o) },
    );
    // Different pod names and request ids, same namespace, images and reasons → duplicates.
    for (let i = 0; i < 3; i++) await d.dispatch(makeEvent({ uid: `u${i}`, name: `web-${i}` }), neverAborted());
    await d.dispatch(makeEvent({ namespace: 'team-b' }), neverAborted()); // different namespace → sent
    await d.dispatch(makeEvent({ results: [imageResult('registry.example/app:1', { reason: 'signature expired' })] }), neverAborted()); // different reason → sent
    await d.idle();
    expect(rx.requests.map((r) => (r.json as { ns: string }).ns)).to.deep.equal(['team-a', 'team-b', 'team-a']);
    expect(d.stats()).to.include({ sent: 3, suppressed: 2 });

    clock += 61_000;
    await d.dispatch(makeEvent({ uid: 'later' }), neverAborted());
    const [, , , req] = await rx.waitForRequests(4);
    const body = req!.json as { n: number; message: string };
    expect(body.n).to.equal(2);
    expect(body.message).to.include('2 identical alerts suppressed in the previous 60s');
    expect(outcomes.filter((o) => o === 'suppressed')).to.have.length(2);
  });

  it('without dedupeSeconds every alert is sent', async () => {
    d = createAlertDispatcher({ templateDirectory: tpl.dir, rejectRequest: { receivers: [{ template: 'count', receiverUrl: rx.url }] } }, { logger: silentLogger, retries: 0 });
    for (let i = 0; i < 3; i++) await d.dispatch(makeEvent(), neverAborted());
    await d.idle();
    expect(rx.requests).to.have.length(3);
  });

  it('keys on decision, dry run, namespace, images and reasons (not pod name or uid)', () => {
    const base = makeEvent();
    expect(dedupeKey(makeEvent({ uid: 'x', name: 'other', user: 'bob' }))).to.equal(dedupeKey(base));
    expect(dedupeKey(makeEvent({ decision: 'admit' }))).not.to.equal(dedupeKey(base));
    expect(dedupeKey(makeEvent({ dryRun: true })), 'a dry run never suppresses the real request').not.to.equal(dedupeKey(base));
    expect(dedupeKey(makeEvent({ results: [imageResult('registry.example/app:2')] }))).not.to.equal(dedupeKey(base));
  });

  it('forgets the oldest keys beyond its bound and reports unreported suppressions', () => {
    const forgotten: number[] = [];
    const dd = new Deduper(2, (n) => forgotten.push(n));
    expect(dd.check('r', 'a', 60, 0).send).to.equal(true);
    expect(dd.check('r', 'a', 60, 1).send).to.equal(false);
    dd.check('r', 'b', 60, 2);
    dd.check('r', 'c', 60, 3); // evicts a, which had 1 suppressed alert
    expect(forgotten).to.deep.equal([1]);
    expect(dd.check('r', 'a', 60, 4)).to.deep.equal({ send: true, suppressedCount: 0 });
  });
});
