import type { ImprimaturError } from '../../errors.js';
import type { HttpTransport } from '../../registry/types.js';
import { NOTARY_ERRORS, notaryError } from './errors.js';

/** Upper bounds on metadata sizes when no signed length is known yet. */
export const MAX_ROOT_BYTES = 1024 * 1024;
export const MAX_TIMESTAMP_BYTES = 64 * 1024;
/** Upper bound for any role, even when signed metadata announces a bigger length. */
export const MAX_ROLE_BYTES = 32 * 1024 * 1024;

/** Reads TUF metadata files of one GUN from a Notary server (`https://<host>/v2/<gun>/_trust/tuf/<role>.json`). */
export class NotaryFetcher {
  constructor(
    private readonly transport: HttpTransport,
    /** `host[:port]`. */
    readonly host: string,
  ) {}

  url(gun: string, role: string): string {
    const path = `${gun}/_trust/tuf/${role}.json`.split('/').map(encodeURIComponent).join('/');
    return `https://${this.host}/v2/${path}`;
  }

  /** The file's bytes, or `undefined` when Notary has no such metadata (HTTP 404). */
  async fetch(gun: string, role: string, maxBytes: number, signal: AbortSignal): Promise<Buffer | undefined> {
    const where = `${role}.json of ${gun} from Notary ${this.host}`;
    let res;
    try {
      res = await this.transport.get(this.url(gun, role), { signal, maxBytes, scope: `repository:${gun}:pull`, accept: ['application/json'] });
    } catch (err) {
      const e = err as Partial<ImprimaturError>;
      if (e.code === 'REGISTRY_NOT_FOUND') return undefined;
      throw mapTransportError(`${role}.json of ${gun}`, this.host, err, signal);
    }
    if (res.status === 404) return undefined;
    if (res.status === 401 || res.status === 403) {
      throw notaryError(NOTARY_ERRORS.unauthorized, `could not fetch ${where}: access denied (HTTP ${res.status}); check the validator's auth`, { host: this.host, status: res.status });
    }
    if (res.status !== 200) {
      throw notaryError(NOTARY_ERRORS.unreachable, `could not fetch ${where}: HTTP ${res.status}`, { host: this.host, status: res.status });
    }
    if (res.body.length > maxBytes) {
      throw notaryError(NOTARY_ERRORS.tooLarge, `${where} is larger than ${maxBytes} bytes; refused`, { host: this.host, maxBytes });
    }
    return res.body;
  }
}

/** `what`: e.g. `root.json of docker.io/library/nginx`. */
function mapTransportError(what: string, host: string, err: unknown, signal: AbortSignal): ImprimaturError {
  const where = `${what} from Notary ${host}`;
  const e = err as Partial<ImprimaturError> & { name?: string };
  // The shared transport words its errors for registries; here the server is a Notary server.
  const reason = (typeof e.message === 'string' && e.message ? e.message : String(err)).split(`registry ${host}`).join(`Notary ${host}`);
  if (signal.aborted || e.name === 'AbortError' || e.code === 'REGISTRY_TIMEOUT' || e.code === 'DEADLINE_EXCEEDED') {
    return notaryError(NOTARY_ERRORS.timeout, `Notary server ${host} did not answer before the admission deadline (it is slow or down), so ${what} could not be fetched`, { host }, err);
  }
  if (e.code === 'REGISTRY_UNAUTHORIZED' || e.code === 'REGISTRY_FORBIDDEN') {
    // a notaryv1 validator takes its credentials under `auth:`, not a top-level `secretName`
    const hint = reason.replace(/; set auth\.secretName on the validator.*$/, '; set auth.secretName (or auth.username and auth.password) on the validator');
    return notaryError(NOTARY_ERRORS.unauthorized, `could not fetch ${where}: ${hint}`, { host }, err);
  }
  if (e.code === 'RESPONSE_TOO_LARGE') return notaryError(NOTARY_ERRORS.tooLarge, `could not fetch ${where}: ${reason}`, { host }, err);
  if (e.code === 'REGISTRY_UNREACHABLE') {
    const d = e.details ?? {};
    const state = typeof d.status === 'number'
      ? `is unavailable (HTTP ${d.status}${typeof d.attempts === 'number' ? ` after ${d.attempts} attempt${d.attempts === 1 ? '' : 's'}` : ''})`
      : `cannot be reached${typeof d.reason === 'string' ? ` (${d.reason})` : ''}`;
    return notaryError(NOTARY_ERRORS.unreachable, `Notary server ${host} ${state}, so ${what} could not be fetched`, { host }, err);
  }
  return notaryError(NOTARY_ERRORS.unreachable, `could not fetch ${where}: ${reason}`, { host }, err);
}
