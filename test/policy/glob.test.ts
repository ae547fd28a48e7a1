/**
 * The linear-time glob matcher keeps the semantics of the regular expression it replaced (kept here, in the
 * test only, as the oracle), and does not blow up on the subjects that made that expression backtrack.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { compileGlob } from '../../src/policy/glob.js';
import { parseImageReference } from '../../src/image/reference.js';
import { PolicyMatcher } from '../../src/policy/matcher.js';

/** The matcher Imprimatur used before: each `*` became `.*` in an anchored regular expression. */
function oldGlobToRegExp(glob: string): RegExp {
  const body = glob.split('*').map((literal) => literal.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&')).join('.*');
  return new RegExp(`^${body}$`, 's');
}

// A small alphabet makes overlaps, repeats and near misses (the hard cases for a matcher) frequent.
const char = fc.constantFrom('a', 'b', '/', ':', '.', '-', '\n', 'é', '\u{1F600}');
const text = fc.array(char, { maxLength: 12 }).map((cs) => cs.join(''));
const glob = fc.array(fc.oneof({ weight: 3, arbitrary: char }, { weight: 2, arbitrary: fc.constant('*') }), { maxLength: 10 }).map((cs) => cs.join(''));
/** A subject built from the glob itself (each star replaced by some text), so that matches are common. */
const globAndInstance = glob.chain((g) =>
  fc.array(text, { minLength: g.split('*').length - 1, maxLength: g.split('*').length - 1 }).chain((fills) =>
    fc.tuple(fc.constant(g), fc.oneof(
      fc.constant(g.split('*').reduce((acc, piece, i) => acc + (i === 0 ? '' : fills[i - 1]) + piece, '')),
      text,
    )),
  ),
);

describe('compileGlob', () => {
  it('agrees with the old regular-expression matcher on random globs and subjects', () => {
    fc.assert(
      fc.property(globAndInstance, ([g, subject]) => {
        expect(compileGlob(g).test(subject), `${JSON.stringify(g)} vs ${JSON.stringify(subject)}`).to.equal(oldGlobToRegExp(g).test(subject));
      }),
      { numRuns: 20_000 },
    );
  });

  it('agrees with the old matcher on image-shaped globs and names', () => {
    const component = fc.constantFrom('docker.io', 'ghcr.io', 'library', 'nginx', 'ngin', 'x', 'a.b', 'org', '*', 'n*x', '*o*');
    const path = fc.array(component, { minLength: 1, maxLength: 5 }).map((cs) => cs.join('/'));
    fc.assert(
      fc.property(path, path, (g, s) => {
        const subject = s.replaceAll('*', 'q');
        expect(compileGlob(g).test(subject), `${g} vs ${subject}`).to.equal(oldGlobToRegExp(g).test(subject));
      }),
      { numRuns: 20_000 },
    );
  });

  const table: Array<[string, string, boolean]> = [
    ['', '', true], ['', 'a', false], ['*', '', true], ['*', 'a/b:c', true], ['**', '', true],
    ['a*', 'a', true], ['*a', 'ba', true], ['*a', 'ab', false], ['a*a', 'a', false], ['a*a', 'aa', true],
    ['*/*', 'a', false], ['*/*', 'a/', true], ['ab*ab*ab', 'ababab', true], ['ab*ab*ab', 'abab', false],
    ['*aab*', 'aaab', true], ['*abab*', 'abaabab', true], ['docker.io/*', 'docker.io/library/nginx', true],
    ['docker.io/*', 'evil.io/docker.io/x', false], ['a.c', 'abc', false], ['a\nb', 'a\nb', true],
  ];
  for (const [g, s, want] of table) {
    it(`${JSON.stringify(g)} ${want ? 'matches' : 'does not match'} ${JSON.stringify(s)}`, () => {
      expect(compileGlob(g).test(s)).to.equal(want);
      expect(oldGlobToRegExp(g).test(s), 'oracle').to.equal(want);
    });
  }
});

describe('glob matching on attacker-chosen names (linear time)', () => {
  // 246 characters: the longest `registry/repository` a reference may have is 255; ~120 `/` separators.
  const crafted = `x.io/${Array.from({ length: 130 }, () => 'a').join('/')}`.slice(0, 246);

  it('the crafted name is a valid image reference of 246 characters', () => {
    expect(parseImageReference(crafted).name).to.have.length(246);
  });

  it('"*/*/*/*/*/nginx" against it answers at once (the backtracking expression took about 2 s on this machine)', () => {
    const started = process.hrtime.bigint();
    for (let i = 0; i < 100; i++) expect(compileGlob('*/*/*/*/*/nginx').test(crafted)).to.equal(false);
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    // 100 matches: microseconds each when linear; the old matcher needed seconds for one.
    expect(ms, `100 matches took ${ms} ms`).to.be.below(250);
  });

  it('the policy matcher picks its rule for such an image without stalling', () => {
    const rules = ['*:*', '*/*/*/*/*/nginx', '*/*/*/*/*/*/*/*/*/*/*/*/nginx*'].map((pattern, i) => ({
      pattern, validator: 'v', with: { trustRoot: 'default', mode: 'mutate' as const }, index: i, path: `policy[${i}]`,
    }));
    const matcher = new PolicyMatcher(rules);
    const started = process.hrtime.bigint();
    const match = matcher.match(parseImageReference(`${crafted}:1`));
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    expect(match?.rule.pattern).to.equal('*:*');
    expect(ms, `matching took ${ms} ms`).to.be.below(250);
  });
});
