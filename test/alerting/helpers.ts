/** Shared fixtures for the alerting tests (not a test file itself). */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import type { AdmissionEvent, ImageDecision } from '../../src/admission/types.js';
import type { Logger } from '../../src/log.js';

/** Text that breaks naive JSON or HTML templating. */
export const HOSTILE = 'a "quoted" \\back\\slash\\ line1\nline2\ttab {{x}} {{{y}}} <script>alert("x")</script> & ünï 😀 \u2028 end';

export function imageResult(image: string, overrides: Partial<ImageDecision> = {}): ImageDecision {
  return { image, rule: 'registry.example/*', validator: 'cosign', outcome: 'denied', reason: 'no valid signature', ...overrides };
}

export function makeEvent(overrides: Partial<AdmissionEvent> = {}): AdmissionEvent {
  return {
    uid: 'req-1',
    decision: 'reject',
    admitted: false,
    detectionMode: false,
    dryRun: false,
    operation: 'CREATE',
    kind: 'Pod',
    namespace: 'team-a',
    name: 'web-1',
    user: 'alice@example.com',
    message: 'image registry.example/app:1 has no valid signature',
    results: [imageResult('registry.example/app:1')],
    warnings: [],
    timestamp: new Date('2024-05-06T07:08:09.123Z'),
    ...overrides,
  };
}

export interface CapturedLog {
  logger: Logger;
  lines: Array<Record<string, unknown>>;
  /** The raw text of every line, for "secret never logged" checks. */
  text(): string;
}

export function captureLogger(): CapturedLog {
  const lines: Array<Record<string, unknown>> = [];
  const raw: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) {
        raw.push(line);
        lines.push(JSON.parse(line) as Record<string, unknown>);
      }
      cb();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), lines, text: () => raw.join('\n') };
}

/** Lets pino's stream flush (it writes synchronously to Writable, but be safe). */
export function tick(ms = 0): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export function tempTemplateDir(files: Record<string, string>): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'imprimatur-templates-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function neverAborted(): AbortSignal {
  return new AbortController().signal;
}
