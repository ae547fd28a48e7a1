import { expect } from 'chai';
import { startHttpFront, type HttpFront } from '../harness/http-front.js';
import { freePort } from '../harness/ports.js';
import { startNotaryServer, type NotaryServer } from '../harness/notary.js';
import type { Validator } from '../../src/validators/types.js';
import { ctx, denied, notaryValidator, ref, rule } from './helpers.js';
import { D, GUN, publishScenarios, type Published } from './scenarios.js';

type Mode = 'pass' | 'flip-targets' | 'edit-timestamp' | 'hang';

describe('notaryv1 validator: tampering, slow and unreachable Notary', function () {
  this.timeout(120_000);
  let server: NotaryServer;
  let pub: Published;
  let front: HttpFront;
  let mode: Mode = 'pass';
  let viaFront: Validator;

  before(async () => {
    server = await startNotaryServer('local');
    pub = await publishScenarios(server);
    front = await startHttpFront({
      upstream: server.url,
      upstreamCa: server.certs.caPem,
      tls: { certPem: server.certs.certPem, keyPem: server.certs.keyPem },
      intercept: async (req, forward) => {
        if (mode === 'hang') return 'hang';
        const res = await forward();
        if (mode === 'flip-targets' && req.path.endsWith('/_trust/tuf/targets.json')) {
          const body = Buffer.from(res.body);
          const i = body.indexOf('"targets":{') + 15; // a byte inside the signed target list
          body[i] = body[i]! ^ 0x01;
          return { ...res, body };
        }
        if (mode === 'edit-timestamp' && req.path.endsWith('/_trust/tuf/timestamp.json')) {
          // still valid JSON, later expiry: only the signature can tell
          return { ...res, body: Buffer.from(res.body.toString().replace('"expires":"20', '"expires":"21')) };
        }
        return res;
      },
    });
    viaFront = notaryValidator(front.host, server.certs.caPem, [{ name: 'default', key: pub.root.publicPem }]);
  });
  beforeEach(() => {
    mode = 'pass';
  });
  after(async () => {
    await viaFront?.close?.();
    await front?.stop();
    await server?.stop();
  });

  it('admits through the untampered front (control)', async () => {
    expect((await viaFront.validate(ref(GUN.plain, '3.19'), rule(), ctx())).digest).to.equal(D.plain319);
  });

  it('denies when one byte of targets.json was flipped', async () => {
    mode = 'flip-targets';
    await denied(
      viaFront.validate(ref(GUN.plain, '3.19'), rule(), ctx()),
      'NOTARY_INCONSISTENT_METADATA',
      `targets of ${GUN.plain} does not match the sha256 hash signed in snapshot`,
    );
  });

  it('denies when signed content of timestamp.json was changed', async () => {
    mode = 'edit-timestamp';
    await denied(
      viaFront.validate(ref(GUN.plain, '3.19'), rule(), ctx()),
      'NOTARY_BAD_SIGNATURE',
      `timestamp metadata of ${GUN.plain} is not signed by enough trusted keys (0 valid of 1 required)`,
    );
  });

  it('denies within the deadline when Notary does not answer', async () => {
    mode = 'hang';
    const started = Date.now();
    const e = await denied(viaFront.validate(ref(GUN.plain, '3.19'), rule(), ctx({ timeoutMs: 1500 })), 'NOTARY_TIMEOUT', /admission deadline/);
    expect(Date.now() - started).to.be.lessThan(2500);
    expect(e.message).to.contain(`Notary ${front.host}`);
  });

  it('denies within the deadline when Notary is down', async () => {
    const port = await freePort(); // nothing listens there
    const down = notaryValidator(`127.0.0.1:${port}`, server.certs.caPem, [{ name: 'default', key: pub.root.publicPem }]);
    try {
      const started = Date.now();
      const e = await denied(down.validate(ref(GUN.plain, '3.19'), rule(), ctx({ timeoutMs: 3000 })), 'NOTARY_UNREACHABLE');
      expect(Date.now() - started).to.be.lessThan(3500);
      expect(e.message).to.equal(`Notary server 127.0.0.1:${port} cannot be reached (connection refused), so root.json of ${GUN.plain} could not be fetched`);
    } finally {
      await down.close?.();
    }
  });
});
