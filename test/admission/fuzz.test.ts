import { expect } from 'chai';
import fc from 'fast-check';
import { parseImageReference } from '../../src/image/reference.js';
import { ImprimaturError } from '../../src/errors.js';
import { startWebhook, type TestWebhook } from '../support/webhook.js';
import { review, workload } from '../support/reviews.js';
import { staticPolicy } from '../support/configs.js';

const CONFIG = staticPolicy();

/** Strings that look like references: mixes of the reference alphabet and hostile characters. */
const referenceLike = fc.stringMatching(/^[a-zA-Z0-9.:/@_\-+,"' \\\u0000\u00e9]{0,80}$/);

describe('fuzz: random input never crashes the parser or the webhook', () => {
  it('parseImageReference returns a reference or throws IMAGE_REFERENCE_INVALID, nothing else', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), referenceLike), (s) => {
        try {
          const ref = parseImageReference(s);
          expect(ref.normalized).to.be.a('string');
          // The normalised form parses to itself.
          expect(parseImageReference(ref.normalized).normalized).to.equal(ref.normalized);
        } catch (err) {
          expect(err).to.be.instanceOf(ImprimaturError);
          expect((err as ImprimaturError).code).to.equal('IMAGE_REFERENCE_INVALID');
        }
      }),
      { numRuns: 3000 },
    );
  });

  describe('over HTTPS', () => {
    let hook: TestWebhook;
    before(async () => { hook = await startWebhook(CONFIG); });
    after(async () => { await hook.close(); });

    it('random JSON bodies get a well-formed AdmissionReview or a 4xx', async () => {
      await fc.assert(
        fc.asyncProperty(fc.oneof(fc.jsonValue(), fc.record({ apiVersion: fc.constant('admission.k8s.io/v1'), kind: fc.constant('AdmissionReview'), request: fc.jsonValue() })), async (body) => {
          const res = await hook.post(body);
          if (res.status === 200) {
            expect(res.json.kind).to.equal('AdmissionReview');
            expect(res.json.response.uid).to.be.a('string');
            expect(res.json.response.allowed).to.be.a('boolean');
          } else {
            expect(res.status).to.be.within(400, 499);
            expect(res.json.error).to.be.a('string');
          }
        }),
        { numRuns: 150 },
      );
    });

    it('random image strings in real Pod reviews: never admitted unless the rule allows, always well-formed', async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(fc.oneof(referenceLike, fc.constantFrom('registry.k8s.io/pause:3.9', 'nginx')), { minLength: 1, maxLength: 4 }), async (images) => {
          const res = await hook.post(review('Pod', workload('Pod', { containers: images })));
          expect(res.status).to.equal(200);
          const allowed = res.json.response.allowed as boolean;
          const allAllowed = images.every((i) => { try { return parseImageReference(i).name.startsWith('registry.k8s.io/'); } catch { return false; } });
          expect(allowed, JSON.stringify(images)).to.equal(allAllowed);
        }),
        { numRuns: 150 },
      );
    });

    it('random workload shapes never give a 500', async () => {
      await fc.assert(
        fc.asyncProperty(fc.constantFrom('Pod', 'Deployment', 'CronJob', 'Job'), fc.jsonValue(), async (kind, spec) => {
          const res = await hook.post(review(kind, { apiVersion: 'v1', kind, metadata: { name: 'x' }, spec } as Record<string, unknown>));
          expect(res.status).to.equal(200);
          expect(res.json.response.allowed).to.be.a('boolean');
        }),
        { numRuns: 150 },
      );
    });
  });
});
