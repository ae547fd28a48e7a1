/**
 * Glob to RegExp: `*` matches any run of characters (including `/` and the empty run);
 * every other character matches itself. The result is anchored at both ends.
 */
export function globToRegExp(glob: string): RegExp {
  const body = glob.split('*').map(escapeRegExp).join('.*');
  return new RegExp(`^${body}$`, 's');
}

function escapeRegExp(literal: string): string {
  return literal.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');
}
