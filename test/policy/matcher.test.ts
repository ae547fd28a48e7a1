import { expect } from 'chai';
import type { PolicyRule } from '../../src/config/types.js';
import { ImprimaturError } from '../../src/errors.js';
import { parseImageReference } from '../../src/image/reference.js';
import { PolicyMatcher } from '../../src/policy/matcher.js';

const DIGEST = `sha256:${'0123456789abcdef'.repeat(4)}`;
const SAMPLE = 'docker.io/securesystemsengineering/sample:v1';

function rules(patterns: string[]): PolicyRule[] {
  return patterns.map((pattern, i) => ({ pattern, validator: 'v', with: { trustRoot: 'default', mode: 'mutate' }, index: i, path: `policy[${i}]` }));
}

interface Case {
  why: string;
  patterns: string[];
  image: string;
  /** Index of the winning rule, or undefined when no rule matches. */
  winner: number | undefined;
  /** Indexes of the runners-up, most specific first (checked when given). */
  runnersUp?: number[];
  /** Indexes of the runners-up as specific as the winner (checked when given). */
  tied?: number[];
}

const table: Case[] = [
  // (a) more components
  { why: 'more components beat a bare wildcard', patterns: ['*', 'docker.io/library/nginx'], image: 'nginx', winner: 1, runnersUp: [0] },
  { why: 'a tag is not a component', patterns: ['*:*', '*/*'], image: SAMPLE, winner: 1 },
  { why: 'three components beat two', patterns: ['docker*/*', '*/*/*'], image: SAMPLE, winner: 1 },
  { why: 'a tag glob is not a component either', patterns: ['*:v1', '*/*'], image: SAMPLE, winner: 1 },
  // (b) longer common prefix, left to right
  { why: 'longer common prefix in the first component', patterns: ['*/*', 'docker*/*'], image: SAMPLE, winner: 1 },
  { why: 'common prefix beats pattern length', patterns: ['docker.i*/s*', 'docker.io/*'], image: SAMPLE, winner: 1 },
  { why: 'common prefix counts inside the tag', patterns: ['securesystemsengineering/sample:*', 'securesystemsengineering/sample:v*'], image: SAMPLE, winner: 1 },
  { why: 'exact tag beats tag glob beats bare repository', patterns: ['nginx', 'nginx:*', 'nginx:1.25'], image: 'nginx:1.25', winner: 2, runnersUp: [1, 0] },
  // (c) longer pattern component, left to right
  { why: 'longer pattern component when prefixes tie', patterns: ['*', '*:*'], image: SAMPLE, winner: 1 },
  { why: 'longer first component when prefixes tie', patterns: ['*o/app', '*i*/app'], image: 'ghcr.io/app', winner: 1 },
  // ties: the later rule wins (Connaisseur's MatchingRule keeps the later of two equal matches)
  { why: 'identical patterns: the later wins', patterns: ['*', '*'], image: 'nginx', winner: 1, runnersUp: [0], tied: [0] },
  { why: 'equally specific patterns: the later wins', patterns: ['*io/app', '*o*/app'], image: 'ghcr.io/app', winner: 1, runnersUp: [0], tied: [0] },
  { why: 'equally specific patterns, other order: the later wins', patterns: ['*o*/app', '*io/app'], image: 'ghcr.io/app', winner: 1, runnersUp: [0], tied: [0] },
  { why: 'the same pattern spelled two ways: the later wins', patterns: ['docker.io/library/nginx', 'nginx'], image: 'nginx', winner: 1, runnersUp: [0], tied: [0] },
  { why: 'three equal rules: the last wins, the others follow latest first', patterns: ['*', '*', '*'], image: 'nginx', winner: 2, runnersUp: [1, 0], tied: [1, 0] },
  { why: 'a more specific earlier rule still beats a later one', patterns: ['nginx', '*'], image: 'nginx', winner: 0, runnersUp: [1], tied: [] },
  // Docker Hub short names
  { why: 'docker.io/<one component> means docker.io/library/<component>', patterns: ['docker.io/library/*', 'docker.io/test:*'], image: 'test:tag', winner: 1, runnersUp: [0] },
  { why: 'docker.io/library/* matches an official image', patterns: ['*', 'docker.io/library/*'], image: 'nginx', winner: 1 },
  { why: 'docker.io/library/* is more specific than docker.io/*', patterns: ['docker.io/*', 'docker.io/library/*'], image: 'nginx', winner: 1 },
  { why: 'a Hub namespace pattern without registry', patterns: ['docker.io/*', 'myorg/*'], image: 'myorg/app', winner: 1 },
  { why: 'index.docker.io is docker.io', patterns: ['*', 'index.docker.io/myorg/*'], image: 'myorg/app:v1', winner: 1 },
  { why: 'nginx is not a Hub image on another registry', patterns: ['nginx', '*'], image: 'ghcr.io/library/nginx', winner: 1, runnersUp: [] },
  // anchoring: no implicit leading wildcard, no prefix matches
  { why: 'a registry pattern does not match its text in another registry path', patterns: ['registry.k8s.io/*'], image: 'evil.io/registry.k8s.io/x', winner: undefined },
  { why: 'a registry pattern does not match a longer host', patterns: ['ghcr.io/org/*', '*'], image: 'ghcr.io.evil.com/org/app', winner: 1, runnersUp: [] },
  { why: 'a repository pattern does not match a longer repository', patterns: ['docker.io/library/nginx'], image: 'nginx-evil', winner: undefined },
  { why: 'a repository pattern does not fall back to a prefix', patterns: ['docker.io/library/nginx', '*'], image: 'nginx-evil', winner: 1, runnersUp: [] },
  { why: 'a namespace pattern does not match a longer namespace', patterns: ['ghcr.io/org/*'], image: 'ghcr.io/orgevil/app', winner: undefined },
  // tags and digests
  { why: 'a digest pattern beats a tag wildcard for a digest-only image', patterns: ['nginx:*', 'nginx@sha256:*'], image: `nginx@${DIGEST}`, winner: 1, runnersUp: [0] },
  { why: 'a digest pattern beats a tag wildcard for a tagged and pinned image', patterns: ['nginx:*', 'nginx@sha256:*'], image: `nginx:1.25@${DIGEST}`, winner: 1, runnersUp: [0] },
  { why: 'a digest pattern does not match an unpinned image', patterns: ['nginx@sha256:*', '*'], image: 'nginx:1.25', winner: 1, runnersUp: [] },
  { why: '*:* matches a digest-only image', patterns: ['*:*'], image: `ghcr.io/a@${DIGEST}`, winner: 0 },
  { why: 'no rules, no match', patterns: [], image: 'nginx', winner: undefined },
];

describe('PolicyMatcher', () => {
  for (const c of table) {
    it(`${c.why}: [${c.patterns.join(', ')}] for ${c.image.length > 40 ? `${c.image.slice(0, 40)}…` : c.image}`, () => {
      const policy = rules(c.patterns);
      const match = new PolicyMatcher(policy).match(parseImageReference(c.image));
      if (c.winner === undefined) {
        expect(match).to.equal(undefined);
        return;
      }
      expect(match?.rule).to.equal(policy[c.winner]);
      if (c.runnersUp !== undefined) expect(match?.runnersUp).to.deep.equal(c.runnersUp.map((i) => policy[i]));
      if (c.tied !== undefined) expect(match?.tied).to.deep.equal(c.tied.map((i) => policy[i]));
    });
  }

  it('lists every other matching rule as a runner-up, most specific first', () => {
    const policy = rules(['*', 'docker.io/*', 'ghcr.io/*', 'docker.io/library/*', 'nginx', 'nginx:1.25']);
    const match = new PolicyMatcher(policy).match(parseImageReference('nginx:1.25'));
    expect(match?.rule.pattern).to.equal('nginx:1.25');
    expect(match?.runnersUp.map((rule) => rule.pattern)).to.deep.equal(['nginx', 'docker.io/library/*', 'docker.io/*', '*']);
  });

  it('refuses an unusable pattern, naming the rule', () => {
    expect(() => new PolicyMatcher(rules(['*', 'a,b']))).to.throw(ImprimaturError, /^policy\[1\]\.pattern: pattern "a,b" contains ","/);
  });
});
