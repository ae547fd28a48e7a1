/**
 * The CEL environment of attestation policies (@marcbachmann/cel-js): the in-toto statement's
 * `predicate` (dyn: any JSON), `subject` (list of resource descriptors), `predicateType` (string) and
 * `now` (timestamp). Expressions are parsed and type-checked when the configuration loads; structural
 * limits bound what one expression can be (length, AST size, nesting). Evaluation happens in the
 * sandbox (sandbox.ts), never on the admission thread.
 *
 * JSON values arrive as CEL `dyn`: objects are maps, numbers are doubles (as in cel-go's JSON), so
 * `predicate.count > 3` and `size(subject) == 1` both work.
 *
 * Why @marcbachmann/cel-js (8.0.0): maintained (frequent releases), zero dependencies, Node >= 20.19, and a
 * type checker with error positions (`Environment.check`) plus parse-time limits. Alternatives looked at:
 * @bufbuild/cel 0.6 (its checker is unfinished — call expressions are unsupported — and not exported;
 * RE2 regexes), cel-js 0.8 (no type checker; chevrotain + ramda). None of them meters evaluation cost,
 * hence the worker sandbox.
 */
import { Environment } from '@marcbachmann/cel-js';

/** Longest expression accepted (characters). */
export const MAX_EXPRESSION_CHARS = 4096;

/** Parse-time limits of one expression (AST nodes, nesting depth, literal sizes). */
const LIMITS = { maxAstNodes: 2000, maxDepth: 48, maxListElements: 256, maxMapEntries: 256, maxCallArguments: 16 };

let shared: Environment | undefined;

/** The statement environment (one per thread; creating it is expensive). */
export function statementEnvironment(): Environment {
  shared ??= new Environment({ limits: LIMITS })
    .registerVariable('predicate', 'dyn')
    .registerVariable('subject', 'list<dyn>')
    .registerVariable('predicateType', 'string')
    .registerVariable('now', 'google.protobuf.Timestamp');
  return shared;
}

export type CompileResult = { ok: true } | { ok: false; message: string };

interface CelErrorShape {
  message?: string;
  summary?: string;
  range?: { start?: number; end?: number };
}

/** One line for a parse or type error: the library's summary and where it is in the expression. */
function describeCelError(err: CelErrorShape): string {
  const summary = err.summary ?? (err.message ?? String(err)).split('\n')[0];
  const start = err.range?.start;
  return typeof start === 'number' ? `${summary} (at character ${start + 1})` : summary!;
}

/**
 * Parses and type-checks `expression` against the statement environment. The result must be a bool
 * (or dyn, checked when evaluated: anything but `true` is a failed policy).
 */
export function compilePolicy(expression: string): CompileResult {
  if (expression.trim().length === 0) return { ok: false, message: 'is empty; write a CEL expression that evaluates to true or false, e.g. predicateType != ""' };
  if (expression.length > MAX_EXPRESSION_CHARS) {
    return { ok: false, message: `is ${expression.length} characters long; the limit is ${MAX_EXPRESSION_CHARS}` };
  }
  let checked: { valid: boolean; type?: string; error?: CelErrorShape };
  try {
    checked = statementEnvironment().check(expression);
  } catch (err) {
    checked = { valid: false, error: err as CelErrorShape };
  }
  if (!checked.valid) return { ok: false, message: `does not compile: ${describeCelError(checked.error ?? {})}` };
  if (checked.type !== 'bool' && checked.type !== 'dyn') {
    return { ok: false, message: `evaluates to ${checked.type}, not bool; a policy must be true or false (e.g. compare with ==)` };
  }
  return { ok: true };
}

/** The CEL variables of one statement (parsed JSON). Missing parts are empty, never undefined. */
export function statementVariables(statement: unknown, now: Date): Record<string, unknown> {
  const s = statement && typeof statement === 'object' && !Array.isArray(statement) ? (statement as Record<string, unknown>) : {};
  return {
    predicate: s.predicate ?? null,
    subject: Array.isArray(s.subject) ? s.subject : [],
    predicateType: typeof s.predicateType === 'string' ? s.predicateType : '',
    now,
  };
}

/** Evaluates a checked expression on this thread (the sandbox's worker calls this). */
export function evaluatePolicy(expression: string, statement: unknown, now: Date): boolean | { notBool: string } {
  const value: unknown = compiled(expression)(statementVariables(statement, now));
  if (typeof value === 'boolean') return value;
  return { notBool: value === null ? 'null' : typeof value === 'bigint' ? 'int' : typeof value };
}

const programs = new Map<string, (vars: Record<string, unknown>) => unknown>();

function compiled(expression: string): (vars: Record<string, unknown>) => unknown {
  let program = programs.get(expression);
  if (!program) {
    program = statementEnvironment().parse(expression) as unknown as (vars: Record<string, unknown>) => unknown;
    if (programs.size >= 1000) programs.clear();
    programs.set(expression, program);
  }
  return program;
}

/** One line for an evaluation error. */
export function describeEvaluationError(err: unknown): string {
  return describeCelError(err as CelErrorShape);
}
