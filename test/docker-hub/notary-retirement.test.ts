/**
 * The notaryv1 validator's denials from notary.docker.io say that Docker retired Content Trust and
 * when the service shuts down; an unreachable Notary server is named as such, in words.
 */
import { expect } from 'chai';
import { createHttpTransport } from '../../src/registry/http.js';
import type { HttpTransport } from '../../src/registry/types.js';
import { NotaryV1Validator } from '../../src/validators/notaryv1/validator.js';
import { readSettings } from '../../src/validators/notaryv1/settings.js';
import { retirementNote } from '../../src/validators/notaryv1/retired-hosts.js';
import { freePort } from '../harness/ports.js';
import { ctx, denied, ref, rule } from '../notary/helpers.js';

const DOCKER_OFFICIAL = `-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEOXYta5TgdCwXTCnLU09W5T4M4r9f
QQrqJuADP6U7g5r9ICgPSmZuRHP/1AYUfOQW3baveKsT969EfELKj1lfCA==
-----END PUBLIC KEY-----
`;

describe('notaryv1: notary.docker.io retirement in denials', function () {
  this.timeout(20_000);

  it('words the note by date: before and after 2026-12-08', () => {
    expect(retirementNote('notary.docker.io', new Date('2026-11-30T12:00:00Z'))).to.match(/^Docker retired Docker Content Trust: notary\.docker\.io shuts down on 2026-12-08\. /);
    expect(retirementNote('Notary.Docker.io', new Date('2026-12-08T00:00:00Z'))).to.match(/^Docker retired Docker Content Trust: notary\.docker\.io was shut down on 2026-12-08\. /);
    expect(retirementNote('notary.docker.io', new Date())).to.contain('docs/docker-hub.md');
    expect(retirementNote('notary.example.com', new Date())).to.equal(undefined);
  });

  describe('a real connection failure to the notary.docker.io validator', () => {
    let port: number;
    let validator: NotaryV1Validator;
    before(async () => {
      port = await freePort(); // nothing listens there: connection refused, over the real transport
      const { settings } = readSettings({ name: 'dockerhub', type: 'notaryv1', host: 'notary.docker.io', trustRoots: [{ name: 'docker-official', key: DOCKER_OFFICIAL }] }, 'validators[0]');
      const real = createHttpTransport({ insecureRegistries: [], requestTimeoutMs: 2000, retry: { maxAttempts: 1 } });
      // The validator asks for https://notary.docker.io/…; the request goes to the loopback port instead.
      const redirected: HttpTransport = {
        get: (url, o) => real.get(url.replace('https://notary.docker.io/', `https://127.0.0.1:${port}/`), { ...o, registry: 'notary.docker.io' }),
        close: () => real.close(),
      };
      validator = new NotaryV1Validator(settings!, redirected);
    });
    after(async () => validator.close());

    it('says the server cannot be reached, and that Docker shuts it down on 2026-12-08', async () => {
      const e = await denied(validator.validate(ref('docker.io/library/nginx', '1.25'), rule({ trustRoot: 'docker-official' }), ctx({ now: new Date('2026-11-30T09:00:00Z') })), 'NOTARY_UNREACHABLE');
      expect(e.message).to.equal(
        'Notary server notary.docker.io cannot be reached (connection refused), so root.json of docker.io/library/nginx could not be fetched. '
        + 'Docker retired Docker Content Trust: notary.docker.io shuts down on 2026-12-08. Docker Official Images have no publisher signature any more; '
        + 'move the rule to another validator (Docker Hardened Images on dhi.io, a digest-pinned allow rule, or your own cosign signature on a mirror; see docs/docker-hub.md)',
      );
      expect((e.details as { record: { summary: string } }).record.summary).to.equal(e.message);
    });

    it('after the shutdown date, says it was shut down', async () => {
      const e = await denied(validator.validate(ref('docker.io/library/nginx', '1.25'), rule({ trustRoot: 'docker-official' }), ctx({ now: new Date('2027-01-15T09:00:00Z') })), 'NOTARY_UNREACHABLE');
      expect(e.message).to.contain('cannot be reached (connection refused)').and.contain('notary.docker.io was shut down on 2026-12-08');
    });
  });
});
