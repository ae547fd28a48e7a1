/**
 * Scalar settings read the way Connaisseur's chart and program read them: enum values case-insensitively, log
 * level and format with a fallback (and a warning) for values Connaisseur would silently replace.
 */
import type { ConfigProblem } from '../errors.js';

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'fatal'] as const;
export const LOG_FORMATS = ['json', 'json-pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

const at = (prefix: string, key: string) => (prefix ? `${prefix}.${key}` : key);

/** `All` → `all`, `PodsOnly` → `podsOnly`, … (Connaisseur compares these case-insensitively). Mutates `app`. */
export function canonicaliseEnums(app: Record<string, unknown>): void {
  const features = app.features;
  if (typeof features !== 'object' || features === null || Array.isArray(features)) return;
  const f = features as Record<string, unknown>;
  const canonical = (value: unknown, allowed: string[]) =>
    typeof value === 'string' ? (allowed.find((a) => a.toLowerCase() === value.toLowerCase()) ?? value) : value;
  if ('resourceValidationMode' in f) f.resourceValidationMode = canonical(f.resourceValidationMode, ['all', 'podsOnly']);
  const ns = f.namespacedValidation;
  if (typeof ns === 'object' && ns !== null && !Array.isArray(ns) && 'mode' in ns) {
    (ns as Record<string, unknown>).mode = canonical((ns as Record<string, unknown>).mode, ['ignore', 'validate']);
  }
}

/** The log level and format of the application section; unknown values fall back with a warning. */
export function logSettings(app: Record<string, unknown>, prefix: string): { logLevel?: string; logFormat: LogFormat; warnings: ConfigProblem[] } {
  const warnings: ConfigProblem[] = [];
  let logLevel: string | undefined;
  if (app.logLevel !== undefined && app.logLevel !== null) {
    const v = String(app.logLevel).toLowerCase();
    if ((LOG_LEVELS as readonly string[]).includes(v)) {
      logLevel = v;
    } else {
      logLevel = 'info';
      warnings.push({ path: at(prefix, 'logLevel'), message: `${JSON.stringify(app.logLevel)} is not a log level; logging at info (as Connaisseur does). Use one of: ${LOG_LEVELS.join(', ')}` });
    }
  }
  let logFormat: LogFormat = 'json';
  if (app.logFormat !== undefined && app.logFormat !== null) {
    const v = String(app.logFormat).toLowerCase();
    if ((LOG_FORMATS as readonly string[]).includes(v)) {
      logFormat = v as LogFormat;
    } else {
      warnings.push({ path: at(prefix, 'logFormat'), message: `${JSON.stringify(app.logFormat)} is not a log format; writing one JSON line per entry (json). Use json or json-pretty` });
    }
  }
  return { logLevel, logFormat, warnings };
}
