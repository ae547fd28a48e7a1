import { pino, destination, stdTimeFunctions, type Logger, type LoggerOptions } from 'pino';

export type { Logger };

export type LogFormat = 'json' | 'json-pretty';

/** The output state of each logger made by createLogger, so a loaded config can switch its format. */
const outputs = new WeakMap<Logger, { pretty: boolean }>();

/** One log line (a JSON object and a newline) re-indented for `json-pretty`. */
function prettyLine(line: string): string {
  try {
    return `${JSON.stringify(JSON.parse(line), null, 2)}\n`;
  } catch {
    return line;
  }
}

/**
 * Structured JSON logger on stderr: one JSON object per line (`json`), or indented over several lines
 * (`json-pretty`, Connaisseur's logFormat).
 * Level from IMPRIMATUR_LOG_LEVEL (default `info`; tests set `silent`).
 * Secrets must never be passed to the logger: log names of secrets, never their contents.
 */
export function createLogger(level = process.env.IMPRIMATUR_LOG_LEVEL ?? 'info', format: LogFormat = 'json'): Logger {
  const sink = destination(2);
  const state = { pretty: format === 'json-pretty' };
  const stream = { write: (line: string) => void sink.write(state.pretty ? prettyLine(line) : line) };
  const logger = pino(loggerOptions(level), stream);
  outputs.set(logger, state);
  return logger;
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

/**
 * Applies a loaded config's `logLevel` and `logFormat` to a logger made by createLogger (others, such as
 * silentLogger, are left alone). IMPRIMATUR_LOG_LEVEL, when set, wins over `logLevel`.
 */
export function applyLogSettings(logger: Logger, settings: { logLevel?: string; logFormat: LogFormat }, env: NodeJS.ProcessEnv = process.env): void {
  const state = outputs.get(logger);
  if (!state) return;
  state.pretty = settings.logFormat === 'json-pretty';
  if (!env.IMPRIMATUR_LOG_LEVEL && settings.logLevel) logger.level = settings.logLevel;
}

/** A logger that drops everything (for library use and tests). */
export const silentLogger: Logger = pino({ level: 'silent' });
