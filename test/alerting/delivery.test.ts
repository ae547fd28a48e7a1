import { expect } from 'chai';
import { createAlertDispatcher, type AlertDispatcherOptions, type AlertingDispatcher } from '../../src/alerting/dispatcher.js';
import type { AlertOutcome } from '../../src/alerting/types.js';
import { silentLogger } from '../../src/log.js';
import { startHttpReceiver, unusedLoopbackUrl, type HttpReceiver } from '../harness/http-receiver.js';
import { captureLogger, makeEvent, neverAborted } from './helpers.js';

type Receiver = Record<string, unknown>;

function section(decision: 'admit' | 'reject', receivers: Receiver[]) {
  return decision === 'admit' ? { admitRequest: { receivers } } : { rejectRequest: { receivers } };
}

describe('alerting: delivery', () => {
  let rx: HttpReceiver;
  const dispatchers: AlertingDispatcher[] = [];
  const make = (raw: unknown, opts: Partial<AlertDispatcherOptions> = {}): AlertingDispatcher => {
    const d = createAlertDispatcher(raw, { logger: silentLogger, retries: 0, retryBaseMs: 10, drainTimeoutMs: 500, ...opts });
    dispatchers.push(d);
    return d;
  };
  beforeEach(async () => {
    rx = await startHttpReceiver();
  });
  afterEach(async () => {
    await Promise.all(dispatchers.splice(0).map((d) => d.close()));
    await rx.close();
  });

  it('sends customHeaders with ${VAR} expanded, and never logs their values', async () => {
    const log = captureLogger();
    const env = { SYSDIG_SECURE_API_TOKEN: 'tok-9f8e7d6c', TEAM: 'platform' };
    const d = make(
      section('reject', [{ template: 'sysdig', receiverUrl: `${rx.url}/api/v1/eventsDispatch/ingest`, customHeaders: ['Authorization: Bearer ${SYSDIG_SECURE_API_TOKEN}', 'X-Team: ${TEAM}-alerts'] }]),
      { env, logger: log.logger },
    );
    rx.respondWith({ status: 401, body: '{"error":"unauthorized"}' }, { status: 200 });
    await d.dispatch(makeEvent(), neverAborted());
    await d.dispatch(makeEvent({ uid: 'req-2' }), neverAborted());
    const [first] = await rx.waitForRequests(2);
    expect(first!.headers.authorization).to.equal('Bearer tok-9f8e7d6c');
    expect(first!.headers['x-team']).to.equal('platform-alerts');
    expect(first!.headers['content-type']).to.equal('application/json');
    await d.idle();
    const failure = log.lines.find((l) => String(l.msg).includes('failed'));
    expect(failure, 'the 401 is logged').to.not.equal(undefined);
    expect(failure!.status).to.equal(401);
    expect(log.text()).not.to.include('tok-9f8e7d6c');
    expect(log.text()).not.to.include('eventsDispatch'); // URL paths may hold secrets: only the origin is logged
  });

  it('deep-merges payloadFields into the rendered JSON, overriding keys', async () => {
    const d = make(
      section('reject', [
        {
          template: 'opsgenie',
          receiverUrl: rx.url,
          payloadFields: { priority: 'P1', details: { team: 'platform', cluster: 'overridden' }, responders: [{ type: 'team', name: 'ops' }], tags: ['only-this'] },
        },
      ]),
    );
    await d.dispatch(makeEvent(), neverAborted());
    const [req] = await rx.waitForRequests(1);
    const body = req!.json as Record<string, any>;
    expect(body.priority).to.equal('P1');
    expect(body.responders).to.deep.equal([{ type: 'team', name: 'ops' }]);
    expect(body.tags).to.deep.equal(['only-this']);
    expect(body.details).to.include({ team: 'platform', cluster: 'overridden', namespace: 'team-a', decision: 'reject' });
    expect(body.message).to.include('Imprimatur rejected a request');
  });

  it('retries a 500 and succeeds on the following 200', async () => {
    const d = make(section('admit', [{ template: 'slack', receiverUrl: rx.url, failIfAlertSendingFails: true }]), { retries: 2 });
    rx.respondWith({ status: 500 }, { status: 200 });
    const result = await d.dispatch(makeEvent({ decision: 'admit' }), neverAborted());
    expect(result.blockingFailures).to.deep.equal([]);
    expect(rx.requests.map((r) => r.status)).to.deep.equal([500, 200]);
    expect(rx.requests[1]!.body).to.equal(rx.requests[0]!.body);
  });

  it('retries a 429 (honouring Retry-After) and gives up after the retry budget', async () => {
    const d = make(section('admit', [{ template: 'slack', receiverUrl: rx.url, failIfAlertSendingFails: true }]), { retries: 2 });
    rx.respondWith({ status: 429, headers: { 'retry-after': '1' } }, { status: 200 });
    expect((await d.dispatch(makeEvent({ decision: 'admit' }), neverAborted())).blockingFailures).to.deep.equal([]);
    expect(rx.requests).to.have.length(2);
    expect(rx.requests[1]!.receivedAt - rx.requests[0]!.receivedAt, 'waited for Retry-After: 1').to.be.at.least(900);

    rx.setDefault({ status: 429 });
    const result = await d.dispatch(makeEvent({ decision: 'admit', uid: 'req-2' }), neverAborted());
    expect(result.blockingFailures).to.have.length(1);
    expect(result.blockingFailures[0]).to.include('admitRequest.receivers[0]').and.include('HTTP 429 after 3 attempts');
    expect(rx.requests).to.have.length(5);
  });

  it('does not retry other 4xx answers', async () => {
    const d = make(section('admit', [{ template: 'slack', receiverUrl: rx.url, failIfAlertSendingFails: true }]), { retries: 3 });
    rx.setDefault({ status: 400, body: 'invalid_payload' });
    const result = await d.dispatch(makeEvent({ decision: 'admit' }), neverAborted());
    expect(result.blockingFailures[0]).to.match(/: HTTP 400$/);
    expect(rx.requests).to.have.length(1);
  });

  it('a receiver that is down fails (blocking: reported; queued: counted and logged)', async () => {
    const down = await unusedLoopbackUrl();
    const log = captureLogger();
    const outcomes: Array<[string, AlertOutcome]> = [];
    const d = make(
      {
        admitRequest: { receivers: [{ name: 'blocker', template: 'keybase', receiverUrl: down, failIfAlertSendingFails: true }] },
        rejectRequest: { receivers: [{ name: 'async', template: 'keybase', receiverUrl: down }] },
      },
      { logger: log.logger, onOutcome: (r, o) => outcomes.push([r, o]) },
    );
    const admit = await d.dispatch(makeEvent({ decision: 'admit' }), neverAborted());
    expect(admit.blockingFailures).to.have.length(1);
    expect(admit.blockingFailures[0]).to.include('blocker (keybase at http://127.0.0.1:').and.include('ECONNREFUSED');
    const rej = await d.dispatch(makeEvent(), neverAborted());
    expect(rej.blockingFailures).to.deep.equal([]);
    await d.idle();
    expect(d.stats()).to.include({ failed: 2, sent: 0 });
    expect(outcomes).to.deep.equal([
      ['blocker', 'failed'],
      ['async', 'failed'],
    ]);
    expect(log.lines.filter((l) => l.level === 40 && String(l.msg).includes('failed')).map((l) => l.receiver)).to.deep.equal(['blocker', 'async']);
  });

  it('a receiver slower than the timeout fails with a timeout, within the timeout', async () => {
    rx.setDefault({ status: 200, delayMs: 3000 });
    const d = make(section('admit', [{ template: 'slack', receiverUrl: rx.url, failIfAlertSendingFails: true }]), { timeoutMs: 200 });
    const started = Date.now();
    const result = await d.dispatch(makeEvent({ decision: 'admit' }), neverAborted());
    expect(Date.now() - started).to.be.lessThan(1500);
    expect(result.blockingFailures[0]).to.include('timed out after 200 ms');
    expect(rx.answered).to.equal(0);
  });

  describe('failIfAlertSendingFails × decision, receiver down', () => {
    for (const flag of [true, false]) {
      for (const decision of ['admit', 'reject'] as const) {
        const blocks = flag && decision === 'admit';
        it(`flag ${flag}, ${decision} → ${blocks ? 'one blocking failure' : 'no blocking failure'}`, async () => {
          const down = await unusedLoopbackUrl();
          const d = make(section(decision, [{ template: 'msteams', receiverUrl: down, failIfAlertSendingFails: flag }]));
          const result = await d.dispatch(makeEvent({ decision }), neverAborted());
          expect(result.blockingFailures).to.have.length(blocks ? 1 : 0);
          await d.idle();
          expect(d.stats().failed, 'the alert was attempted and failed either way').to.equal(1);
        });
      }
    }
  });

  it('without the flag, dispatch returns while the slow receiver has not answered yet', async () => {
    rx.setDefault({ status: 200, delayMs: 1000 });
    const d = make(section('admit', [{ template: 'slack', receiverUrl: rx.url }]), { timeoutMs: 5000 });
    const started = Date.now();
    const result = await d.dispatch(makeEvent({ decision: 'admit' }), neverAborted());
    const answeredWhenResolved = rx.answered;
    expect(Date.now() - started).to.be.lessThan(500);
    expect(result.blockingFailures).to.deep.equal([]);
    expect(answeredWhenResolved).to.equal(0);
    await rx.waitForRequests(1);
    expect(rx.answered, 'the receiver is still holding the request').to.equal(0);
    await d.idle();
    expect(rx.answered).to.equal(1);
    expect(d.stats().sent).to.equal(1);
  });

  it('with the flag, dispatch waits until the receiver has answered', async () => {
    rx.setDefault({ status: 200, delayMs: 300 });
    const d = make(section('admit', [{ template: 'slack', receiverUrl: rx.url, failIfAlertSendingFails: true }]), { timeoutMs: 5000 });
    const result = await d.dispatch(makeEvent({ decision: 'admit' }), neverAborted());
    expect(result.blockingFailures).to.deep.equal([]);
    expect(rx.answered).to.equal(1);
  });

  it('with the flag, dispatch gives up when the request signal aborts', async () => {
    rx.setDefault({ status: 200, delayMs: 5000 });
    const d = make(section('admit', [{ template: 'slack', receiverUrl: rx.url, failIfAlertSendingFails: true }]), { timeoutMs: 10_000 });
    const started = Date.now();
    const result = await d.dispatch(makeEvent({ decision: 'admit' }), AbortSignal.timeout(150));
    expect(Date.now() - started).to.be.lessThan(1500);
    expect(result.blockingFailures[0]).to.include('aborted');
  });

  it('a full queue drops alerts, counting and logging each one', async () => {
    rx.setDefault({ status: 200, delayMs: 300 });
    const log = captureLogger();
    const outcomes: AlertOutcome[] = [];
    const d = make(section('reject', [{ name: 'q', template: 'keybase', receiverUrl: rx.url }]), {
      maxQueue: 2,
      concurrency: 1,
      timeoutMs: 5000,
      logger: log.logger,
      onOutcome: (_r, o) => outcomes.push(o),
    });
    for (let i = 0; i < 5; i++) await d.dispatch(makeEvent({ uid: `req-${i}` }), neverAborted());
    // One in flight, two waiting, two dropped.
    expect(d.stats()).to.include({ dropped: 2, queued: 2, inFlight: 1 });
    const drops = log.lines.filter((l) => String(l.msg).includes('dropped: queue full'));
    expect(drops.map((l) => l.requestUid)).to.deep.equal(['req-3', 'req-4']);
    await d.idle();
    expect(d.stats()).to.include({ sent: 3, dropped: 2, queued: 0 });
    expect(outcomes.filter((o) => o === 'dropped')).to.have.length(2);
    expect(rx.requests.map((r) => (r.json as { msg: string }).msg.length > 0)).to.deep.equal([true, true, true]);
  });

  it('close() drains within its bound, then counts what was not sent', async () => {
    rx.setDefault({ status: 200, delayMs: 5000 });
    const log = captureLogger();
    const d = make(section('reject', [{ template: 'keybase', receiverUrl: rx.url }]), { concurrency: 1, timeoutMs: 10_000, drainTimeoutMs: 200, logger: log.logger });
    for (let i = 0; i < 3; i++) await d.dispatch(makeEvent({ uid: `req-${i}` }), neverAborted());
    await rx.waitForRequests(1);
    const started = Date.now();
    await d.close();
    expect(Date.now() - started).to.be.lessThan(1500);
    expect(d.stats()).to.include({ dropped: 2, failed: 1, sent: 0, queued: 0, inFlight: 0 });
    expect(log.lines.filter((l) => String(l.msg).includes('not sent before shutdown'))).to.have.length(2);
  });

  it('after close(), alerts are dropped and flagged admits report a failure', async () => {
    const d = make(
      { admitRequest: { receivers: [{ template: 'slack', receiverUrl: rx.url, failIfAlertSendingFails: true }, { template: 'slack', receiverUrl: rx.url }] } },
    );
    await d.close();
    const result = await d.dispatch(makeEvent({ decision: 'admit' }), neverAborted());
    expect(result.blockingFailures).to.have.length(1);
    expect(result.blockingFailures[0]).to.include('shutting down');
    expect(d.stats().dropped).to.equal(2);
    expect(rx.requests).to.have.length(0);
  });

  it('reports sent outcomes per receiver name and only alerts receivers of the decision', async () => {
    const outcomes: Array<[string, AlertOutcome]> = [];
    const d = make(
      {
        admitRequest: { receivers: [{ name: 'admits', template: 'slack', receiverUrl: `${rx.url}/admit` }] },
        rejectRequest: { receivers: [{ name: 'rejects', template: 'slack', receiverUrl: `${rx.url}/reject` }] },
      },
      { onOutcome: (r, o) => outcomes.push([r, o]) },
    );
    await d.dispatch(makeEvent({ decision: 'reject' }), neverAborted());
    await d.idle();
    expect(outcomes).to.deep.equal([['rejects', 'sent']]);
    expect(rx.requests.map((r) => r.url)).to.deep.equal(['/reject']);
  });
});
