/**
 * Verification levels of the Notary Project trust policy: which validations are enforced (a failure
 * denies), logged (a failure is recorded and verification goes on) or skipped, per level, with the
 * custom-level `override` map (`with.verificationOverride` here).
 */
export type Check = 'integrity' | 'authenticity' | 'authenticTimestamp' | 'expiry' | 'revocation';
export type Action = 'enforce' | 'log' | 'skip';
export type Level = 'strict' | 'permissive' | 'audit' | 'skip';

export const LEVELS: readonly Level[] = ['strict', 'permissive', 'audit', 'skip'];

const TABLE: Record<Level, Record<Check, Action>> = {
  strict: { integrity: 'enforce', authenticity: 'enforce', authenticTimestamp: 'enforce', expiry: 'enforce', revocation: 'enforce' },
  permissive: { integrity: 'enforce', authenticity: 'enforce', authenticTimestamp: 'log', expiry: 'log', revocation: 'log' },
  audit: { integrity: 'enforce', authenticity: 'log', authenticTimestamp: 'log', expiry: 'log', revocation: 'log' },
  skip: { integrity: 'skip', authenticity: 'skip', authenticTimestamp: 'skip', expiry: 'skip', revocation: 'skip' },
};

/** Keys and values the override map accepts (integrity cannot be overridden; only revocation can be skipped). */
export const OVERRIDES: Record<Exclude<Check, 'integrity'>, Action[]> = {
  authenticity: ['enforce', 'log'],
  authenticTimestamp: ['enforce', 'log'],
  expiry: ['enforce', 'log'],
  revocation: ['enforce', 'log', 'skip'],
};

export function actions(level: Level, override: Partial<Record<Check, Action>> = {}): Record<Check, Action> {
  if (level === 'skip') return { ...TABLE.skip };
  return { ...TABLE[level], ...override, integrity: 'enforce' };
}
