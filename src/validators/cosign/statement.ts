/**
 * In-toto statements in DSSE envelopes (what `cosign attest` signs, and what cosign 3 signs for an image
 * signature): parsing, and whether a statement is about a given image digest.
 */

export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';
export const STATEMENT_TYPES: readonly string[] = ['https://in-toto.io/Statement/v1', 'https://in-toto.io/Statement/v0.1'];

export interface InTotoStatement {
  predicateType: string;
  /** `sha256:<hex>` digests of the statement's subjects. */
  subjectDigests: string[];
  /** The statement as signed (JSON text), for policies. */
  json: string;
}

export type StatementResult = { statement: InTotoStatement } | { problem: string };

/** The in-toto statement of a DSSE payload, or why there is none. */
export function parseStatement(payloadType: string, payload: Buffer): StatementResult {
  if (payloadType !== IN_TOTO_PAYLOAD_TYPE) return { problem: `DSSE payload type is ${payloadType}, not ${IN_TOTO_PAYLOAD_TYPE}` };
  const json = payload.toString('utf8');
  let doc: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(json);
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) return { problem: 'DSSE payload is not a JSON object' };
    doc = parsed as Record<string, unknown>;
  } catch {
    return { problem: 'DSSE payload is not JSON' };
  }
  if (!STATEMENT_TYPES.includes(doc._type as string)) return { problem: `DSSE payload is not an in-toto statement (_type ${JSON.stringify(doc._type)})` };
  if (typeof doc.predicateType !== 'string' || doc.predicateType.length === 0) return { problem: 'in-toto statement has no predicateType' };
  const subjects = Array.isArray(doc.subject) ? (doc.subject as Array<{ digest?: Record<string, unknown> } | null>) : [];
  const subjectDigests = subjects
    .map((s) => s?.digest?.sha256)
    .filter((d): d is string => typeof d === 'string' && /^[0-9a-f]{64}$/.test(d))
    .map((d) => `sha256:${d}`);
  return { statement: { predicateType: doc.predicateType, subjectDigests, json } };
}

/** Why `statement` is not about the image `digest`, or undefined when one of its subjects is that digest. */
export function subjectProblem(statement: InTotoStatement, digest: string, what: string): string | undefined {
  if (statement.subjectDigests.includes(digest)) return undefined;
  return `${what} subject is another image (${statement.subjectDigests.length > 0 ? statement.subjectDigests.join(', ') : 'no sha256 subject'})`;
}
