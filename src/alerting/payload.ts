/** Rendering one alert: template → text → JSON object → payloadFields merged in. */
import { ImprimaturError } from '../errors.js';
import { deepMerge, isPlainObject } from './merge.js';
import type { CompiledTemplate } from './template-files.js';
import type { AlertVariables } from './types.js';

/** Up to 40 characters either side of `position` in `text`, for error messages. */
function excerpt(text: string, position: number): string {
  const start = Math.max(0, position - 40);
  return JSON.stringify(text.slice(start, position + 40));
}

function parseError(err: unknown, text: string): string {
  const message = (err as Error).message;
  const m = /position (\d+)/.exec(message);
  return m ? `${message} near ${excerpt(text, Number(m[1]))}` : message;
}

/**
 * Renders the template and returns the JSON object to send, or undefined when the template rendered nothing
 * (blank, or `{}`): such an alert is not sent, as in Connaisseur (a template can leave out what it does not want).
 * Throws ImprimaturError ALERT_PAYLOAD_INVALID when the result is not a JSON object
 * (a broken template, or a `{{{ }}}` used on a value that is not JSON).
 */
export function renderPayload(
  template: CompiledTemplate,
  vars: AlertVariables,
  payloadFields: Record<string, unknown> | undefined,
  templateName: string,
): Record<string, unknown> | undefined {
  let text: string;
  try {
    text = template(vars);
  } catch (err) {
    throw new ImprimaturError('ALERT_PAYLOAD_INVALID', `template "${templateName}" failed to render: ${(err as Error).message}`, { template: templateName }, { cause: err });
  }
  const trimmed = text.trim();
  if (trimmed === '' || trimmed === '{}') return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new ImprimaturError(
      'ALERT_PAYLOAD_INVALID',
      `template "${templateName}" does not render valid JSON: ${parseError(err, text)}; use {{ }} inside JSON strings and {{{ }}} only for JSON values such as {{{json results}}}`,
      { template: templateName },
      { cause: err },
    );
  }
  if (!isPlainObject(parsed)) {
    throw new ImprimaturError('ALERT_PAYLOAD_INVALID', `template "${templateName}" must render a JSON object, not ${Array.isArray(parsed) ? 'an array' : typeof parsed}`, {
      template: templateName,
    });
  }
  return payloadFields ? deepMerge(parsed, payloadFields) : parsed;
}
