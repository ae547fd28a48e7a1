import { pino, destination, stdTimeFunctions, type Logger, type LoggerOptions } from 'pino';

export type { Logger };

/**
 * Structured JSON logger (one JSON object per line on stderr).
 * Level from IMPRIMATUR_LOG_LEVEL (default `info`; tests set `silent`).
 * Secrets must never be passed to the logger: log names of secrets, never their contents.
 */
export function createLogger(level = process.env.IMPRIMATUR_LOG_LEVEL ?? 'info'): Logger {
  return pino(loggerOptions(level), destination(2));
}

/** The options of `createLogger` (level, fields, redaction), for a logger writing elsewhere (tests read what it wrote). */
export function loggerOptions(level: string): LoggerOptions {
  return {
    level,
    base: { app: 'imprimatur' },
    timestamp: stdTimeFunctions.isoTime,
    redact: { paths: ['*.password', '*.token', '*.authorization', '*.Authorization', 'headers.authorization'], censor: '[redacted]' },
  };
}

/** A logger that drops everything (for library use and tests). */
export const silentLogger: Logger = pino({ level: 'silent' });
