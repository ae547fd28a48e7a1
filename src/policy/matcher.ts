/**
 * Chooses the policy rule for an image: among the rules whose pattern matches, the most specific
 * (see specificity.ts) wins; between equally specific rules the later one in the policy list wins, as in
 * Connaisseur (whose MatchingRule keeps the later of two equal matches).
 */

import type { PolicyRule } from '../config/types.js';
import { ImprimaturError } from '../errors.js';
import type { ImageReference } from '../image/types.js';
import { checkPattern, compilePattern, type CompiledPattern } from './pattern.js';
import { compareSpecificity, measureSpecificity } from './specificity.js';

export const POLICY_PATTERN_INVALID = 'POLICY_PATTERN_INVALID';

export interface PolicyMatch {
  /** The most specific matching rule. */
  rule: PolicyRule;
  /** The other matching rules, most specific first. */
  runnersUp: PolicyRule[];
  /** Runners-up exactly as specific as the winner (it won because it comes later in the policy). */
  tied: PolicyRule[];
}

interface CompiledRule {
  rule: PolicyRule;
  pattern: CompiledPattern;
  position: number;
}

/** How many distinct references the matcher remembers before it starts over. */
const MEMO_LIMIT = 10_000;

export class PolicyMatcher {
  private readonly rules: CompiledRule[];
  /** Decisions by normalised reference: the rules never change, so neither does the answer. */
  private readonly memo = new Map<string, PolicyMatch | undefined>();

  /** Throws ImprimaturError `POLICY_PATTERN_INVALID` for an unusable pattern (the config loader reports these first via checkPattern). */
  constructor(rules: PolicyRule[]) {
    this.rules = rules.map((rule, position) => {
      const problem = checkPattern(rule.pattern);
      if (problem !== undefined) {
        throw new ImprimaturError(POLICY_PATTERN_INVALID, `${rule.path}.pattern: ${problem}`, { path: rule.path, pattern: rule.pattern });
      }
      return { rule, pattern: compilePattern(rule.pattern), position };
    });
  }

  /** The winning rule and the runners-up for `ref`, or undefined when no rule matches. */
  match(ref: ImageReference): PolicyMatch | undefined {
    if (this.memo.has(ref.normalized)) return this.memo.get(ref.normalized);
    const found = this.rank(ref);
    if (this.memo.size >= MEMO_LIMIT) this.memo.clear();
    this.memo.set(ref.normalized, found);
    return found;
  }

  private rank(ref: ImageReference): PolicyMatch | undefined {
    const ranked = this.rules
      .filter((candidate) => candidate.pattern.matches(ref))
      .map((candidate) => ({
        ...candidate,
        specificity: measureSpecificity(candidate.pattern.normalized, candidate.pattern.subject(ref)),
      }))
      .sort((a, b) => compareSpecificity(b.specificity, a.specificity) || b.position - a.position);
    const [winner, ...runnersUp] = ranked;
    if (winner === undefined) return undefined;
    return {
      rule: winner.rule,
      runnersUp: runnersUp.map((candidate) => candidate.rule),
      tied: runnersUp.filter((candidate) => compareSpecificity(candidate.specificity, winner.specificity) === 0).map((candidate) => candidate.rule),
    };
  }
}
