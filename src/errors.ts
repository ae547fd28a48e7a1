/**
 * Typed errors. Every error carries a stable machine-readable `code` and a human sentence
 * (`message`) that can be shown to a user as is. Admission denials are built from these.
 */
export class ImprimaturError extends Error {
  readonly code: string;
  readonly details?: Record<string, unknown>;

  constructor(code: string, message: string, details?: Record<string, unknown>, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ImprimaturError';
    this.code = code;
    this.details = details;
  }
}

/** One problem found in a configuration file: where it is and what to do about it. */
export interface ConfigProblem {
  /** Path in the document, e.g. `application.policy[3].validator`. */
  path: string;
  /** What is wrong and what to do, e.g. `refers to unknown validator "foo"; define it under application.validators`. */
  message: string;
}

/** A configuration that cannot be used. `problems` holds every problem found, not just the first. */
export class ConfigError extends ImprimaturError {
  readonly file: string;
  readonly problems: ConfigProblem[];

  constructor(file: string, problems: ConfigProblem[]) {
    super(
      'CONFIG_INVALID',
      problems.map((p) => `${file}: ${p.path ? `${p.path}: ` : ''}${p.message}`).join('\n'),
      { file, problems },
    );
    this.name = 'ConfigError';
    this.file = file;
    this.problems = problems;
  }
}

/** Turns anything thrown into an ImprimaturError, keeping typed errors as they are. */
export function toImprimaturError(err: unknown, fallbackCode = 'INTERNAL'): ImprimaturError {
  if (err instanceof ImprimaturError) return err;
  if (err instanceof Error && err.name === 'AbortError') {
    return new ImprimaturError('DEADLINE_EXCEEDED', 'verification did not finish before the admission deadline', undefined, { cause: err });
  }
  const message = err instanceof Error ? err.message : String(err);
  return new ImprimaturError(fallbackCode, message, undefined, { cause: err });
}
