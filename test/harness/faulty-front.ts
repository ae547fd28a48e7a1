import { startHttpFront, type FrontAction, type FrontRequest, type Forward, type HttpFront } from './http-front.js';

/**
 * A misbehaving front for a real registry, to test the client's defences:
 * rate limiting, 5xx, hanging, connection resets, lying and oversized manifests. It also counts
 * requests to the OCI 1.1 referrers API route, which the registry behind it serves (olareg) or
 * answers 404 (distribution 2.8). `stop()` makes the registry look down (connection refused).
 */
export type Fault =
  /** 429 (with Retry-After when given) for the next `times` matching requests, then pass through. */
  | { kind: 'rateLimit'; times: number; retryAfterSeconds?: number }
  /** `status` (default 503) for the next `times` matching requests. */
  | { kind: 'serverError'; times: number; status?: number }
  /** Accept matching requests and never answer. */
  | { kind: 'hang' }
  /** Answer matching requests normally, but only after `ms` milliseconds. */
  | { kind: 'delay'; ms: number }
  /** Cut the connection of the next `times` matching requests. */
  | { kind: 'reset'; times: number }
  /** Manifest GETs come back with other bytes (a field added) but the original Docker-Content-Digest; blob GETs with their first byte flipped. */
  | { kind: 'lie' }
  /** Matching GETs answer 200 with `bytes` bytes, with or without a Content-Length. */
  | { kind: 'oversize'; bytes: number; declareLength: boolean }
  /** Matching GETs answer 200 with this body (e.g. a hostile JSON document). */
  | { kind: 'body'; body: Buffer; contentType: string };

export interface FaultyFrontOptions {
  upstream: string;
  upstreamCa?: string;
  tls?: { certPem: string; keyPem: string };
  /** Port to listen on (default: any free port). */
  port?: number;
}

export interface FaultyFront extends HttpFront {
  /** Inject a fault for requests whose path matches `match` (default: every `/v2/<name>/…` request). */
  setFault(fault: Fault | undefined, match?: RegExp): void;
  /** How many requests the current fault was applied to. */
  faultHits(): number;
  /** Requests the registry answered (200) through the OCI 1.1 referrers API (`GET /v2/<name>/referrers/<digest>`). */
  referrersApiHits(): number;
}

const DEFAULT_MATCH = /^\/v2\/.+/;
const REFERRERS = /^\/v2\/.+\/referrers\/[^/]+$/;

export async function startFaultyFront(opts: FaultyFrontOptions): Promise<FaultyFront> {
  let fault: Fault | undefined;
  let match = DEFAULT_MATCH;
  let hits = 0;
  let referrersHits = 0;

  const intercept = async (req: FrontRequest, forward: Forward): Promise<FrontAction> => {
    const path = req.path;
    if (fault && match.test(path)) {
      const action = await applyFault(fault, hits, req, forward);
      if (action) {
        hits++;
        return action;
      }
    }
    if (req.method === 'GET' && REFERRERS.test(path.split('?')[0]!)) {
      const res = await forward();
      if (res.status === 200) referrersHits++;
      return res;
    }
    return forward();
  };

  const front = await startHttpFront({ upstream: opts.upstream, upstreamCa: opts.upstreamCa, tls: opts.tls, port: opts.port, intercept });
  return {
    ...front,
    setFault: (f, m) => {
      fault = f;
      match = m ?? DEFAULT_MATCH;
      hits = 0;
    },
    faultHits: () => hits,
    referrersApiHits: () => referrersHits,
  };
}

/** The fault's answer, or undefined when this request passes through (fault used up or not applicable). */
async function applyFault(fault: Fault, hits: number, req: FrontRequest, forward: Forward): Promise<FrontAction | undefined> {
  switch (fault.kind) {
    case 'rateLimit':
      if (hits >= fault.times) return undefined;
      return {
        status: 429,
        headers: { 'content-type': 'application/json', ...(fault.retryAfterSeconds !== undefined ? { 'retry-after': String(fault.retryAfterSeconds) } : {}) },
        body: Buffer.from('{"errors":[{"code":"TOOMANYREQUESTS","message":"rate limit exceeded"}]}'),
      };
    case 'serverError':
      if (hits >= fault.times) return undefined;
      return { status: fault.status ?? 503, headers: { 'content-type': 'text/plain' }, body: Buffer.from('unavailable') };
    case 'hang':
      return 'hang';
    case 'delay':
      await new Promise((resolve) => setTimeout(resolve, fault.ms));
      return forward();
    case 'reset':
      return hits >= fault.times ? undefined : 'reset';
    case 'lie': {
      if (req.method !== 'GET' || !/\/(manifests|blobs)\//.test(req.path)) return undefined;
      const res = await forward();
      if (res.status !== 200) return res;
      if (/\/blobs\//.test(req.path)) {
        const body = Buffer.from(res.body);
        if (body.length > 0) body[0] = body[0]! ^ 0xff;
        return { ...res, body };
      }
      const json = JSON.parse(res.body.toString('utf8')) as Record<string, unknown>;
      const body = Buffer.from(JSON.stringify({ ...json, annotations: { ...(json['annotations'] as object), 'tampered-by': 'faulty-front' } }));
      return { ...res, body };
    }
    case 'body':
      if (req.method !== 'GET') return undefined;
      return { status: 200, headers: { 'content-type': fault.contentType }, body: fault.body };
    case 'oversize':
      if (req.method !== 'GET') return undefined;
      return {
        status: 200,
        headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
        body: Buffer.alloc(fault.bytes, 0x20),
        chunked: !fault.declareLength,
      };
  }
}
