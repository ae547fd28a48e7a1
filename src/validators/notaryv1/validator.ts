import { raceAbort } from '../../deadline.js';
import { ImprimaturError, toImprimaturError } from '../../errors.js';
import type { RuleOptions } from '../../config/types.js';
import type { ImageReference } from '../../image/types.js';
import type { HttpTransport } from '../../registry/types.js';
import type { ValidationContext, ValidationOutcome, Validator, VerificationRecord } from '../types.js';
import { NOTARY_ERRORS, notaryError } from './errors.js';
import { NotaryFetcher } from './fetch.js';
import { retirementNote } from './retired-hosts.js';
import { resolve } from './resolve.js';
import type { NotaryV1Settings } from './settings.js';
import { TrustChain, type PinResult, type PinnedRoot } from './verify.js';

/** A configured notaryv1 validator: verifies Notary v1 (Docker Content Trust) data of the image's GUN. */
export class NotaryV1Validator implements Validator {
  readonly type = 'notaryv1';
  readonly cacheable = true;
  readonly name: string;
  private readonly fetcher: NotaryFetcher;

  constructor(
    private readonly settings: NotaryV1Settings,
    private readonly transport: HttpTransport,
  ) {
    this.name = settings.name;
    this.fetcher = new NotaryFetcher(transport, settings.host);
  }

  async validate(image: ImageReference, options: RuleOptions, ctx: ValidationContext): Promise<ValidationOutcome> {
    const gun = image.name;
    const host = this.settings.host;
    let pins: PinResult[] = [];
    try {
      const selected = this.selectTrustRoots(options.trustRoot);
      const delegations = Array.isArray(options.delegations) ? options.delegations.map(String) : [];
      const { chain, resolution } = await withDeadline(
        (async () => {
          const chain = await TrustChain.load(this.fetcher, gun, selected, ctx.now(), ctx.signal);
          pins = chain.pins;
          return { chain, resolution: await resolve(chain, { tag: image.tag, digest: image.digest }, delegations) };
        })(),
        ctx.signal,
        `verifying trust data of ${gun} on Notary ${host}`,
      );
      pins = chain.pins;
      const by = resolution.roles.join(', ');
      const record: VerificationRecord = {
        summary: `${image.original} is signed in Notary ${host} (${by}) with digest ${resolution.digest}`,
        gun,
        host,
        roles: resolution.roles,
        trustRoots: pins.map((p) => ({ name: p.name, verified: p.verified, ...(p.verified ? { found: resolution.digest } : { reason: p.reason }) })),
      };
      ctx.logger.debug({ validator: this.name, gun, host, digest: resolution.digest, roles: resolution.roles }, 'notary trust data verified');
      return { digest: resolution.digest, details: record };
    } catch (err) {
      let e = toImprimaturError(err, NOTARY_ERRORS.badMetadata);
      const note = retirementNote(host, ctx.now());
      if (note) e = new ImprimaturError(e.code, `${e.message}. ${note}`, { ...e.details, retired: true }, { cause: e });
      if (e.code === NOTARY_ERRORS.rootUntrusted && Array.isArray(e.details?.trustRoots)) pins = e.details.trustRoots as PinResult[];
      if (!(err instanceof ImprimaturError)) ctx.logger.warn({ validator: this.name, gun, err: e.message }, 'unexpected error while verifying notary trust data');
      const record: VerificationRecord = {
        summary: e.message,
        gun,
        host,
        trustRoots: pins.map((p) => ({ name: p.name, verified: p.verified, ...(p.reason ? { reason: p.reason } : {}) })),
      };
      throw new ImprimaturError(e.code, e.message, { ...e.details, validator: this.name, record }, { cause: e });
    }
  }

  private selectTrustRoots(name: string): PinnedRoot[] {
    if (name === '*') return this.settings.trustRoots;
    const root = this.settings.trustRoots.find((r) => r.name === name);
    if (!root) {
      throw notaryError(
        NOTARY_ERRORS.trustRootUnknown,
        `trust root "${name}" is not defined in validator "${this.name}" (defined: ${this.settings.trustRoots.map((r) => `"${r.name}"`).join(', ')})`,
      );
    }
    return [root];
  }

  async close(): Promise<void> {
    await this.transport.close();
  }
}

/** Rejects as soon as `signal` aborts, even if `work` does not notice (fail closed within the deadline). */
function withDeadline<T>(work: Promise<T>, signal: AbortSignal, what: string): Promise<T> {
  const timeout = (): ImprimaturError =>
    notaryError(NOTARY_ERRORS.timeout, `${what} did not finish before the admission deadline (the Notary server is slow or down)`);
  return raceAbort(work, signal, timeout, (err) => (err instanceof ImprimaturError ? err : toImprimaturError(err)));
}
