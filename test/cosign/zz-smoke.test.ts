import { parseImageReference } from '../../src/image/reference.js';
import { startFixtureRegistry } from '../../test/harness/fixture-registry.js';
import { createValidator, ctx, FIXTURES, rule, vectorConfig, VECTOR_REPO, closeValidators } from '../../test/cosign/helpers.js';
it('smoke', async () => {
  const reg = await startFixtureRegistry(FIXTURES, [VECTOR_REPO]);
  const cfg = vectorConfig('11_keyless.yaml') as any;
  cfg.trustRoots[0].keyless = { issuerRegex: '.*github.*', subjectRegex: '.*philipp.*' };
  const v = createValidator(cfg, [reg.host]);
  for (const root of ['philipp-keyless', 'bob-keyless']) {
    try { const o = await v.validate(parseImageReference(`${reg.host}/${VECTOR_REPO}:keyless`), rule(root), ctx()); console.log(JSON.stringify(o.details, null, 1)); }
    catch (e: any) { console.log(e.code, e.message, JSON.stringify(e.details?.record?.trustRoots, null, 1)); }
  }
  const v2 = createValidator({ name: 'pg', type: 'cosign', trustRoots: [{ name: 'p', keyless: { issuer: 'https://github.com/login/oauth', subject: 'philipp.belitz@securesystems.de' } }] } as any, [reg.host]);
  try { const o = await v2.validate(parseImageReference(`${reg.host}/${VECTOR_REPO}:keyless`), rule('p'), ctx()); console.log('public-good', o.details.trustRoots![0]!.verifiedBy); } catch (e: any) { console.log('pg', e.message); }
  await closeValidators(); await reg.close();
});
