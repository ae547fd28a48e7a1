import { expect } from 'chai';
import { parseWwwAuthenticate } from '../../src/registry/www-authenticate.js';

describe('WWW-Authenticate parsing', () => {
  it('reads a Docker bearer challenge with a quoted scope containing commas', () => {
    const [c] = parseWwwAuthenticate('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/nginx:pull,push"');
    expect(c).to.deep.equal({
      scheme: 'bearer',
      params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/nginx:pull,push' },
    });
  });

  it('handles escapes, spaces, unquoted values and several challenges in one header', () => {
    const challenges = parseWwwAuthenticate('Basic realm="a \\"quoted\\", realm" , Bearer realm=https://x/token, error="insufficient_scope"');
    expect(challenges.map((c) => c.scheme)).to.deep.equal(['basic', 'bearer']);
    expect(challenges[0]!.params['realm']).to.equal('a "quoted", realm');
    expect(challenges[1]!.params).to.deep.equal({ realm: 'https://x/token', error: 'insufficient_scope' });
  });

  it('accepts several headers and missing ones', () => {
    expect(parseWwwAuthenticate(['Basic realm="r"', 'Bearer realm="t"']).map((c) => c.scheme)).to.deep.equal(['basic', 'bearer']);
    expect(parseWwwAuthenticate(undefined)).to.deep.equal([]);
  });
});
