/**
 * The CEL sandbox's worker thread: evaluates one policy at a time on a statement (JSON text) and
 * answers with the boolean, the type it got instead, or the error. The parent thread bounds its time
 * and memory (sandbox.ts); nothing here touches the network, files or the admission state.
 */
import { parentPort } from 'node:worker_threads';
import { describeEvaluationError, evaluatePolicy, statementEnvironment } from './environment.js';
import type { SandboxJob, SandboxReply } from './protocol.js';

const port = parentPort;
if (!port) throw new Error('the CEL sandbox worker must run in a worker thread');

statementEnvironment();
port.on('message', (job: SandboxJob) => {
  let reply: SandboxReply;
  try {
    const result = evaluatePolicy(job.expression, JSON.parse(job.statement), new Date(job.now));
    reply = typeof result === 'boolean' ? { id: job.id, value: result } : { id: job.id, error: `evaluated to ${result.notBool}, not a bool` };
  } catch (err) {
    reply = { id: job.id, error: describeEvaluationError(err) };
  }
  port.postMessage(reply);
});
port.postMessage({ ready: true });
