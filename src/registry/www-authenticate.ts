/**
 * Parser for the `WWW-Authenticate` header (RFC 7235): one or more challenges, each a scheme
 * followed by comma-separated `name=value` parameters whose values may be quoted strings
 * containing commas, `=` and backslash escapes.
 *
 *   Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:a/b:pull,push"
 */
export interface AuthChallenge {
  /** Lower-case scheme, e.g. `bearer` or `basic`. */
  scheme: string;
  /** Parameters with lower-case names. */
  params: Record<string, string>;
}

export function parseWwwAuthenticate(header: string | string[] | undefined): AuthChallenge[] {
  if (header === undefined) return [];
  const values = Array.isArray(header) ? header : [header];
  return values.flatMap(parseOneHeader);
}

function parseOneHeader(input: string): AuthChallenge[] {
  const challenges: AuthChallenge[] = [];
  let pos = 0;
  let current: AuthChallenge | undefined;

  const skip = (chars: string): void => {
    while (pos < input.length && chars.includes(input[pos]!)) pos++;
  };
  const readToken = (): string => {
    const start = pos;
    while (pos < input.length && !' \t,="'.includes(input[pos]!)) pos++;
    return input.slice(start, pos);
  };
  const readQuoted = (): string => {
    pos++; // opening quote
    let out = '';
    while (pos < input.length && input[pos] !== '"') {
      if (input[pos] === '\\' && pos + 1 < input.length) pos++;
      out += input[pos];
      pos++;
    }
    pos++; // closing quote
    return out;
  };

  while (pos < input.length) {
    skip(' \t,');
    if (pos >= input.length) break;
    const token = readToken();
    if (!token) {
      pos++; // stray character: skip it
      continue;
    }
    const afterToken = pos;
    skip(' \t');
    if (input[pos] === '=' && current) {
      pos++;
      skip(' \t');
      const value = input[pos] === '"' ? readQuoted() : readToken();
      current.params[token.toLowerCase()] = value;
    } else if (input[pos] === '=' && !current) {
      pos++; // parameter before any scheme: malformed, skip its value
      skip(' \t');
      if (input[pos] === '"') readQuoted();
      else readToken();
    } else {
      pos = afterToken;
      // token68 (e.g. `Negotiate abc==`) would end up here as a new scheme; harmless
      current = { scheme: token.toLowerCase(), params: {} };
      challenges.push(current);
    }
  }
  return challenges;
}
