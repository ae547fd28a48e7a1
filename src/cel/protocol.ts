/** Messages between the CEL sandbox (sandbox.ts) and its worker thread (worker.ts). */

/** One evaluation: a policy that passed compilePolicy, the statement as JSON text, the time (ms since epoch). */
export interface SandboxJob {
  id: number;
  expression: string;
  statement: string;
  now: number;
}

/** The policy's value, or why it has none. The worker first sends `{ ready: true }` once. */
export type SandboxReply = { id: number; value: boolean } | { id: number; error: string };
