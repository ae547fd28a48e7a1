/**
 * CEL attestation policies: compiled and type-checked at load, evaluated in the sandbox worker with a
 * cost limit (time) and a memory limit, never on the admission thread.
 */
import { expect } from 'chai';
import { compilePolicy } from '../../src/cel/environment.js';
import { CelSandbox } from '../../src/cel/sandbox.js';

const statement = (predicate: unknown, extra: Record<string, unknown> = {}) => JSON.stringify({
  _type: 'https://in-toto.io/Statement/v1',
  subject: [{ name: 'registry.example/app', digest: { sha256: 'ab'.repeat(32) } }],
  predicateType: 'https://cosign.sigstore.dev/attestation/vuln/v1',
  predicate,
  ...extra,
});

describe('CEL policies: compile and type-check', () => {
  it('accepts boolean expressions over predicate, subject, predicateType and now', () => {
    for (const e of [
      'predicateType == "https://slsa.dev/provenance/v1"',
      'subject.exists(s, s.digest.sha256.startsWith("ab"))',
      'now - timestamp(predicate.metadata.scanFinishedOn) < duration("168h")',
      '!predicate.scanner.result.Results.exists(r, has(r.Vulnerabilities) && r.Vulnerabilities.exists(v, v.Severity == "CRITICAL"))',
      'predicate.verified',
    ]) expect(compilePolicy(e), e).to.deep.equal({ ok: true });
  });

  it('names what is wrong and where', () => {
    expect(compilePolicy('foo == 1')).to.deep.equal({ ok: false, message: 'does not compile: Unknown variable: foo (at character 1)' });
    expect(compilePolicy('predicateType + 1')).to.deep.equal({ ok: false, message: 'does not compile: no such overload: string + int (at character 1)' });
    expect(compilePolicy('predicateType ==')).to.have.property('message').that.matches(/^does not compile: Unexpected token: EOF \(at character \d+\)$/);
    expect(compilePolicy('size(subject)')).to.deep.equal({ ok: false, message: 'evaluates to int, not bool; a policy must be true or false (e.g. compare with ==)' });
    expect(compilePolicy('  ')).to.have.property('message').that.matches(/^is empty/);
    expect(compilePolicy(`predicateType == "${'x'.repeat(5000)}"`)).to.have.property('message').that.matches(/characters long; the limit is 4096$/);
  });

  it('refuses expressions beyond the structural limits (AST size, nesting)', () => {
    expect(compilePolicy(`${'('.repeat(60)}true${')'.repeat(60)}`).ok).to.equal(false);
    expect(compilePolicy(Array.from({ length: 800 }, () => 'true').join(' && ')).ok).to.equal(false);
  });
});

describe('CEL policies: the sandbox', function () {
  this.timeout(60_000);
  let sandbox: CelSandbox;
  const now = new Date('2026-03-10T00:00:00Z');
  const run = (expression: string, stmt: string) => sandbox.evaluate(expression, stmt, now, AbortSignal.timeout(30_000));

  beforeEach(() => {
    sandbox = new CelSandbox();
  });
  afterEach(async () => {
    await sandbox.close();
  });

  it('evaluates to true or false on the statement, with now', async () => {
    const fresh = statement({ metadata: { scanFinishedOn: '2026-03-08T00:00:00Z' }, scanner: { result: { Results: [{ Target: 'x', Vulnerabilities: [{ Severity: 'HIGH' }] }, { Target: 'y' }] } } });
    const policy = 'now - timestamp(predicate.metadata.scanFinishedOn) < duration("168h") && !predicate.scanner.result.Results.exists(r, has(r.Vulnerabilities) && r.Vulnerabilities.exists(v, v.Severity == "CRITICAL"))';
    expect(await run(policy, fresh)).to.deep.equal({ value: true });
    const old = statement({ metadata: { scanFinishedOn: '2026-03-01T00:00:00Z' }, scanner: { result: { Results: [] } } });
    expect(await run(policy, old)).to.deep.equal({ value: false });
    const critical = statement({ metadata: { scanFinishedOn: '2026-03-09T00:00:00Z' }, scanner: { result: { Results: [{ Vulnerabilities: [{ Severity: 'CRITICAL' }] }] } } });
    expect(await run(policy, critical)).to.deep.equal({ value: false });
    expect(await run('subject.exists(s, s.digest.sha256 == "' + 'ab'.repeat(32) + '") && predicateType.endsWith("/vuln/v1")', fresh)).to.deep.equal({ value: true });
  });

  it('reports evaluation errors and non-boolean results as errors', async () => {
    expect(await run('predicate.missing.field == "x"', statement({}))).to.deep.equal({ error: 'No such key: missing (at character 11)' });
    expect(await run('timestamp(predicate.t) < now', statement({ t: 'yesterday' }))).to.have.property('error').that.matches(/timestamp/i);
    expect(await run('predicate.verified', statement({ verified: 'yes' }))).to.deep.equal({ error: 'evaluated to string, not a bool' });
  });

  it('stops an expression that would run for minutes (cost limit) while the event loop stays responsive', async () => {
    const list = Array.from({ length: 2000 }, (_, i) => i);
    let ticks = 0;
    let worstGap = 0;
    let last = Date.now();
    const interval = setInterval(() => {
      const t = Date.now();
      worstGap = Math.max(worstGap, t - last);
      last = t;
      ticks++;
    }, 5);
    const started = Date.now();
    const result = await run('predicate.l.all(a, predicate.l.all(b, predicate.l.all(c, a + b + c >= 0.0)))', statement({ l: list }));
    const took = Date.now() - started;
    clearInterval(interval);
    expect(result).to.deep.equal({ error: 'cost limit exceeded: evaluation was stopped after 250 ms' });
    expect(took).to.be.below(10_000);
    expect(ticks).to.be.greaterThan(5);
    expect(worstGap, 'the admission thread never ran the policy').to.be.below(took);
    expect(sandbox.restarts).to.equal(1);
    // The replacement worker evaluates the next policy normally.
    expect(await run('size(predicate.l) == 2000', statement({ l: list }))).to.deep.equal({ value: true });
  });

  it('stops a catastrophically backtracking regular expression', async () => {
    const result = await run('predicate.name.matches("^(a+)+$")', statement({ name: `${'a'.repeat(40)}!` }));
    expect(result).to.deep.equal({ error: 'cost limit exceeded: evaluation was stopped after 250 ms' });
  });

  it('stops an expression that builds a huge value (memory or cost limit)', async () => {
    const small = new CelSandbox({ memoryLimitMb: 32, costLimitMs: 5000 });
    try {
      const list = Array.from({ length: 400 }, () => 'x'.repeat(100));
      const result = await small.evaluate('size(predicate.l.map(a, predicate.l.map(b, predicate.l.map(c, a + b + c)))) > 0', statement({ l: list }), now, AbortSignal.timeout(30_000));
      expect(result).to.have.property('error').that.matches(/^(memory limit exceeded \(more than 32 MiB\)|cost limit exceeded)/);
      expect(await small.evaluate('true', statement({}), now, AbortSignal.timeout(30_000))).to.deep.equal({ value: true });
    } finally {
      await small.close();
    }
  });

  it('gives up at the admission deadline', async () => {
    const controller = new AbortController();
    const pending = sandbox.evaluate('predicate.l.all(a, predicate.l.all(b, predicate.l.all(c, true)))', statement({ l: Array.from({ length: 2000 }, (_, i) => i) }), now, controller.signal);
    const queued = sandbox.evaluate('true', statement({}), now, controller.signal);
    setTimeout(() => controller.abort(), 20);
    expect(await queued).to.deep.equal({ error: 'not evaluated: the admission deadline passed' });
    expect(await pending).to.deep.equal({ error: 'not evaluated: the admission deadline passed' });
  });
});
