/** The byte budget and the bounded JSON scan behind the memory bounds (src/registry/byte-budget.ts, json.ts). */
import { expect } from 'chai';
import fc from 'fast-check';
import { ImprimaturError } from '../../src/errors.js';
import { ByteBudget, RequestBytes } from '../../src/registry/byte-budget.js';
import { checkJsonComplexity, countJsonValues, MAX_JSON_VALUES } from '../../src/registry/json.js';

const never = () => new AbortController().signal;
const tick = () => new Promise((r) => setImmediate(r));

describe('byte budget', () => {
  it('grants while there is room, makes later readers wait (FIFO) and wakes them on release', async () => {
    const b = new ByteBudget(100);
    await b.acquire(60, never());
    const order: string[] = [];
    const second = b.acquire(50, never()).then(() => order.push('second'));
    const third = b.acquire(10, never()).then(() => order.push('third'));
    await tick();
    expect(order, 'nothing fits yet; the small one waits behind the big one').to.deep.equal([]);
    b.release(60);
    await Promise.all([second, third]);
    expect(order).to.deep.equal(['second', 'third']);
    expect(b.inUse).to.equal(60);
  });

  it('a waiter whose deadline passes gives up without taking anything', async () => {
    const b = new ByteBudget(10);
    await b.acquire(10, never());
    const ac = new AbortController();
    const waiting = b.acquire(5, ac.signal);
    ac.abort(new Error('deadline'));
    await waiting.then(() => expect.fail('should not be granted'), (err: Error) => expect(err.message).to.equal('deadline'));
    b.release(10);
    expect(b.inUse).to.equal(0);
  });

  it('one reservation larger than the whole budget goes through alone, so it never waits forever', async () => {
    const b = new ByteBudget(10);
    await b.acquire(50, never());
    expect(b.inUse).to.equal(50);
  });

  it('a request past its share fails at once naming the limit; what it held goes back to the process', async () => {
    const process = new ByteBudget(10 * 1024 * 1024);
    const request = new RequestBytes(process, 1024 * 1024);
    const lease = request.lease();
    await lease.take(800 * 1024, never(), 'a manifest');
    let err: unknown;
    try {
      await lease.take(300 * 1024, never(), '/v2/x/manifests/y');
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(ImprimaturError);
    expect((err as ImprimaturError).code).to.equal('REQUEST_BYTES_LIMIT');
    expect((err as ImprimaturError).message).to.equal('the registry data for this admission request exceeded 1 MiB (while reading /v2/x/manifests/y); a registry serving oversized signature data, or raise limits.bytesPerRequestMiB');
    expect(process.inUse).to.equal(800 * 1024);
    lease.releaseAll();
    expect(process.inUse).to.equal(0);
  });

  it('resizing (a config reload) lets waiters that now fit proceed', async () => {
    const b = new ByteBudget(10);
    await b.acquire(10, never());
    const waiting = b.acquire(10, never());
    b.resize(20);
    await waiting;
    expect(b.inUse).to.equal(20);
  });
});

describe('bounded JSON', () => {
  it('counts values like a parser would (fast-check against JSON.parse)', () => {
    const count = (v: unknown): number =>
      Array.isArray(v) ? 1 + v.reduce((n: number, x) => n + count(x), 0)
      : v !== null && typeof v === 'object' ? 1 + Object.values(v).reduce((n: number, x) => n + count(x), 0)
      : 1;
    fc.assert(fc.property(fc.jsonValue(), (v) => {
      const text = JSON.stringify(v);
      if (text === undefined) return;
      expect(countJsonValues(Buffer.from(text)), text).to.equal(count(JSON.parse(text)));
    }), { numRuns: 2000 });
  });

  it('refuses a document with more values than allowed, naming the registry and what it was', () => {
    const bomb = Buffer.from(`[${Array(MAX_JSON_VALUES + 1).fill('{}').join(',')}]`);
    expect(() => checkJsonComplexity(bomb, 'the manifest of image x', 'evil.io')).to.throw(ImprimaturError, /^registry evil\.io answered the manifest of image x with a JSON document of about 100002 values; more than 100000 is refused/);
    expect(() => checkJsonComplexity(Buffer.from('{"layers":[]}'), 'x', 'r')).to.not.throw();
  });
});
