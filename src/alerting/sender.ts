/**
 * POSTs one rendered alert with axios: per-attempt timeout, bounded retries with exponential backoff (and
 * Retry-After) for 429, 5xx and network errors; any other non-2xx fails at once. Never throws: returns an outcome.
 * Nothing here logs header values or the URL path (Slack-style webhook URLs carry their secret in the path).
 */
import axios, { type AxiosInstance, type RawAxiosRequestHeaders } from 'axios';
import type { AlertHeader } from './types.js';

export interface SendPolicy {
  /** Per-attempt timeout (whole request, not just idle time). */
  timeoutMs: number;
  /** Retries after the first attempt. */
  retries: number;
  retryBaseMs: number;
  retryMaxMs: number;
}

export const DEFAULT_SEND_POLICY: SendPolicy = { timeoutMs: 3000, retries: 2, retryBaseMs: 250, retryMaxMs: 5000 };

export type SendResult =
  | { ok: true; status: number; attempts: number }
  | { ok: false; reason: string; status?: number; attempts: number; aborted: boolean; responseExcerpt?: string };

export function createHttpClient(): AxiosInstance {
  return axios.create({
    maxRedirects: 0,
    responseType: 'text',
    transformResponse: [(data: unknown) => data],
    validateStatus: () => true,
    maxContentLength: 64 * 1024,
  });
}

function requestHeaders(custom: readonly AlertHeader[]): RawAxiosRequestHeaders {
  const headers: Record<string, string> = { 'Content-Type': 'application/json', 'User-Agent': 'imprimatur-alerting' };
  for (const h of custom) {
    for (const key of Object.keys(headers)) if (key.toLowerCase() === h.name.toLowerCase()) delete headers[key];
    headers[h.name] = h.value;
  }
  return headers;
}

function retryable(status: number): boolean {
  return status === 429 || status >= 500;
}

/** Retry-After in ms (seconds or HTTP date), if present and sane. */
function retryAfterMs(value: unknown): number | undefined {
  if (typeof value !== 'string' || value === '') return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

function backoffMs(policy: SendPolicy, attempt: number, hint?: number): number {
  const exp = Math.min(policy.retryMaxMs, policy.retryBaseMs * 2 ** (attempt - 1));
  const jittered = exp / 2 + Math.random() * (exp / 2);
  return Math.min(policy.retryMaxMs, hint ?? jittered);
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

function networkReason(err: unknown, timedOut: boolean, timeoutMs: number): string {
  if (timedOut) return `timed out after ${timeoutMs} ms`;
  const e = err as { code?: string; message?: string; cause?: { code?: string } };
  const code = e.code && e.code !== 'ERR_BAD_RESPONSE' ? e.code : e.cause?.code;
  if (code === 'ECONNREFUSED') return 'connection refused (ECONNREFUSED)';
  if (code === 'ERR_FR_MAX_CONTENT_LENGTH_EXCEEDED' || /maxContentLength/.test(e.message ?? '')) return 'response body too large';
  return code ? `network error (${code})` : `network error: ${e.message ?? String(err)}`;
}

/** Sends `body` (a JSON text) to `url`, retrying as the policy allows, until done or `signal` aborts. */
export async function sendAlert(
  client: AxiosInstance,
  url: string,
  headers: readonly AlertHeader[],
  body: string,
  policy: SendPolicy,
  signal: AbortSignal,
): Promise<SendResult> {
  const reqHeaders = requestHeaders(headers);
  let attempt = 0;
  for (;;) {
    attempt++;
    if (signal.aborted) return { ok: false, reason: 'aborted before it could be sent', attempts: attempt - 1, aborted: true };
    const timeout = AbortSignal.timeout(policy.timeoutMs);
    let status: number | undefined;
    let reason: string;
    let hint: number | undefined;
    let excerpt: string | undefined;
    try {
      const res = await client.post(url, body, { headers: reqHeaders, signal: AbortSignal.any([signal, timeout]) });
      status = res.status;
      if (status >= 200 && status < 300) return { ok: true, status, attempts: attempt };
      reason = `HTTP ${status}`;
      excerpt = typeof res.data === 'string' && res.data ? res.data.slice(0, 200) : undefined;
      if (!retryable(status)) return { ok: false, reason, status, attempts: attempt, aborted: false, responseExcerpt: excerpt };
      if (status === 429) hint = retryAfterMs(res.headers['retry-after']);
    } catch (err) {
      if (signal.aborted) return { ok: false, reason: 'aborted (admission deadline or shutdown)', attempts: attempt, aborted: true };
      reason = networkReason(err, timeout.aborted, policy.timeoutMs);
    }
    if (attempt > policy.retries) {
      const suffix = attempt > 1 ? ` after ${attempt} attempts` : '';
      return { ok: false, reason: `${reason}${suffix}`, status, attempts: attempt, aborted: false, responseExcerpt: excerpt };
    }
    await sleep(backoffMs(policy, attempt, hint), signal);
  }
}
