/**
 * Noise control: per receiver, an alert identical to one sent less than `windowSeconds` ago is suppressed and
 * counted; the next one sent for that key carries the count. Memory is bounded (oldest keys are forgotten first).
 */
import type { AdmissionEvent } from '../admission/types.js';
import { eventImages } from './variables.js';

/** Same decision, dry run or not, namespace, images and per-image reasons → same key (a dry run never hides a real request). */
export function dedupeKey(event: AdmissionEvent): string {
  const reasons = event.results.map((r) => `${r.image}\u0000${r.outcome}\u0000${r.reason}`).sort();
  return JSON.stringify([event.decision, event.detectionMode, event.dryRun, event.namespace, eventImages(event).sort(), reasons]);
}

interface Entry {
  sentAt: number;
  suppressed: number;
}

export type DedupeVerdict = { send: true; suppressedCount: number } | { send: false; suppressedCount: number };

export class Deduper {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly maxKeys = 10_000,
    /** Called with a key's count when it is forgotten with suppressed alerts never reported. */
    private readonly onForget?: (suppressed: number) => void,
  ) {}

  /** Decides for one alert at time `now` (ms). A `send` verdict starts a new window for the key. */
  check(receiver: string, key: string, windowSeconds: number, now: number): DedupeVerdict {
    if (windowSeconds <= 0) return { send: true, suppressedCount: 0 };
    const k = `${receiver}\u0000${key}`;
    const entry = this.entries.get(k);
    if (entry && now - entry.sentAt < windowSeconds * 1000) {
      entry.suppressed++;
      return { send: false, suppressedCount: entry.suppressed };
    }
    const suppressedCount = entry?.suppressed ?? 0;
    this.entries.delete(k); // re-insert at the end: Map order is age order
    this.entries.set(k, { sentAt: now, suppressed: 0 });
    while (this.entries.size > this.maxKeys) {
      const [oldest, old] = this.entries.entries().next().value as [string, Entry];
      this.entries.delete(oldest);
      if (old.suppressed > 0) this.onForget?.(old.suppressed);
    }
    return { send: true, suppressedCount };
  }
}
