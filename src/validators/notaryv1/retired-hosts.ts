/**
 * Notary servers whose operator has announced their shutdown. A denial from one of them says so,
 * because "cannot be reached" alone does not tell the user that the fix is a policy change.
 */

export interface RetiredNotary {
  host: string;
  /** Shutdown day (UTC), `YYYY-MM-DD`. */
  shutdown: string;
  /** What replaces it, one clause. */
  advice: string;
}

export const RETIRED_NOTARY_HOSTS: readonly RetiredNotary[] = [
  {
    host: 'notary.docker.io',
    shutdown: '2026-12-08',
    advice: 'Docker Official Images have no publisher signature any more; move the rule to another validator '
      + '(Docker Hardened Images on dhi.io, a digest-pinned allow rule, or your own cosign signature on a mirror; see docs/docker-hub.md)',
  },
];

/** The sentence to add to a denial from `host`, or undefined when the host is not retired. */
export function retirementNote(host: string, now: Date): string | undefined {
  const retired = RETIRED_NOTARY_HOSTS.find((r) => r.host === host.toLowerCase());
  if (!retired) return undefined;
  const past = now.getTime() >= Date.parse(`${retired.shutdown}T00:00:00Z`);
  const when = past ? `was shut down on ${retired.shutdown}` : `shuts down on ${retired.shutdown}`;
  return `Docker retired Docker Content Trust: ${retired.host} ${when}. ${retired.advice}`;
}
