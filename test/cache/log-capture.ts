/** A real pino logger that keeps its JSON lines in memory, to assert what was logged. */
import { pino, type Logger } from 'pino';

export function capturingLogger(): { logger: Logger; lines: Array<Record<string, unknown>>; messages: () => string[] } {
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino({ level: 'debug' }, { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) });
  return { logger, lines, messages: () => lines.map((l) => String(l.msg)) };
}
