/**
 * Globs over image references: `*` matches any run of characters (including `/` and the empty run); every
 * other character matches itself; the whole subject must match (anchored at both ends).
 *
 * Matching runs in time linear in the length of the subject plus the glob, whatever either contains: the
 * subject is attacker-chosen (an image name in a workload), so no backtracking regular expression is used
 * (`^.*\/.*\/.*\/…$` backtracks polynomially). The glob is split at its stars into literal pieces; the
 * first must be a prefix, the last a suffix, and the middle ones are found left to right, each at its
 * leftmost occurrence after the previous one (KMP search, so every subject character is examined a bounded
 * number of times). Leftmost placement is always right for `*`-only globs: any match can be shifted to it.
 */
export interface Glob {
  readonly source: string;
  test(subject: string): boolean;
}

export function compileGlob(glob: string): Glob {
  const pieces = glob.split('*');
  if (pieces.length === 1) return { source: glob, test: (subject) => subject === glob };
  const prefix = pieces[0]!;
  const suffix = pieces[pieces.length - 1]!;
  const middle = pieces.slice(1, -1).filter((p) => p !== '').map((p) => ({ text: p, failure: failureTable(p) }));
  const fixed = prefix.length + suffix.length;
  return {
    source: glob,
    test(subject: string): boolean {
      if (subject.length < fixed || !subject.startsWith(prefix) || !subject.endsWith(suffix)) return false;
      let from = prefix.length;
      const end = subject.length - suffix.length;
      for (const piece of middle) {
        const at = kmpIndexOf(subject, piece.text, piece.failure, from, end);
        if (at < 0) return false;
        from = at + piece.text.length;
      }
      return true;
    },
  };
}

/** KMP failure function: for each prefix of `p`, the length of its longest proper border. */
function failureTable(p: string): Int32Array {
  const f = new Int32Array(p.length);
  let k = 0;
  for (let i = 1; i < p.length; i++) {
    while (k > 0 && p[i] !== p[k]) k = f[k - 1]!;
    if (p[i] === p[k]) k++;
    f[i] = k;
  }
  return f;
}

/** First index ≥ `from` where `p` occurs entirely within `s[from, end)`, or -1. O((end - from) + |p|). */
function kmpIndexOf(s: string, p: string, f: Int32Array, from: number, end: number): number {
  let k = 0;
  for (let i = from; i < end; i++) {
    while (k > 0 && s[i] !== p[k]) k = f[k - 1]!;
    if (s[i] === p[k]) k++;
    if (k === p.length) return i - p.length + 1;
  }
  return -1;
}
