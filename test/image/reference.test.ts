import { expect } from 'chai';
import { ImprimaturError } from '../../src/errors.js';
import { formatReference, parseImageReference, withDigest } from '../../src/image/reference.js';

const HEX = '0123456789abcdef'.repeat(4);
const DIGEST = `sha256:${HEX}`;
const OTHER_DIGEST = `sha256:${'f'.repeat(64)}`;

interface ValidCase {
  input: string;
  registry: string;
  repository: string;
  tag?: string;
  digest?: string;
  normalized: string;
}

const valid: ValidCase[] = [
  { input: 'nginx', registry: 'docker.io', repository: 'library/nginx', tag: 'latest', normalized: 'docker.io/library/nginx:latest' },
  { input: 'nginx:1.25', registry: 'docker.io', repository: 'library/nginx', tag: '1.25', normalized: 'docker.io/library/nginx:1.25' },
  { input: 'library/nginx', registry: 'docker.io', repository: 'library/nginx', tag: 'latest', normalized: 'docker.io/library/nginx:latest' },
  { input: 'docker.io/nginx', registry: 'docker.io', repository: 'library/nginx', tag: 'latest', normalized: 'docker.io/library/nginx:latest' },
  { input: 'index.docker.io/nginx', registry: 'docker.io', repository: 'library/nginx', tag: 'latest', normalized: 'docker.io/library/nginx:latest' },
  { input: 'index.docker.io/myorg/app:v1', registry: 'docker.io', repository: 'myorg/app', tag: 'v1', normalized: 'docker.io/myorg/app:v1' },
  // distribution does not rewrite registry-1.docker.io: it is a registry of its own name.
  { input: 'registry-1.docker.io/nginx', registry: 'registry-1.docker.io', repository: 'nginx', tag: 'latest', normalized: 'registry-1.docker.io/nginx:latest' },
  { input: 'myorg/app', registry: 'docker.io', repository: 'myorg/app', tag: 'latest', normalized: 'docker.io/myorg/app:latest' },
  { input: 'myorg/team/app:2', registry: 'docker.io', repository: 'myorg/team/app', tag: '2', normalized: 'docker.io/myorg/team/app:2' },
  { input: 'ghcr.io/org/app:v1.2.3', registry: 'ghcr.io', repository: 'org/app', tag: 'v1.2.3', normalized: 'ghcr.io/org/app:v1.2.3' },
  { input: 'localhost/app', registry: 'localhost', repository: 'app', tag: 'latest', normalized: 'localhost/app:latest' },
  { input: 'localhost:5000/app:dev', registry: 'localhost:5000', repository: 'app', tag: 'dev', normalized: 'localhost:5000/app:dev' },
  { input: 'registry:5000/app', registry: 'registry:5000', repository: 'app', tag: 'latest', normalized: 'registry:5000/app:latest' },
  { input: '10.0.0.1:5000/team/app', registry: '10.0.0.1:5000', repository: 'team/app', tag: 'latest', normalized: '10.0.0.1:5000/team/app:latest' },
  { input: '[::1]:5000/app:v1', registry: '[::1]:5000', repository: 'app', tag: 'v1', normalized: '[::1]:5000/app:v1' },
  { input: '[2001:db8::1]/app', registry: '[2001:db8::1]', repository: 'app', tag: 'latest', normalized: '[2001:db8::1]/app:latest' },
  // "localhost" without a slash is an (official) Docker Hub repository name; ":5000" is then its tag.
  { input: 'localhost:5000', registry: 'docker.io', repository: 'library/localhost', tag: '5000', normalized: 'docker.io/library/localhost:5000' },
  { input: `nginx@${DIGEST}`, registry: 'docker.io', repository: 'library/nginx', digest: DIGEST, normalized: `docker.io/library/nginx@${DIGEST}` },
  { input: `nginx:1.25@${DIGEST}`, registry: 'docker.io', repository: 'library/nginx', tag: '1.25', digest: DIGEST, normalized: `docker.io/library/nginx:1.25@${DIGEST}` },
  { input: `ghcr.io/org/app@${DIGEST}`, registry: 'ghcr.io', repository: 'org/app', digest: DIGEST, normalized: `ghcr.io/org/app@${DIGEST}` },
  { input: 'quay.io/a_b/c__d/e--f.g:Tag_1.0-rc', registry: 'quay.io', repository: 'a_b/c__d/e--f.g', tag: 'Tag_1.0-rc', normalized: 'quay.io/a_b/c__d/e--f.g:Tag_1.0-rc' },
  { input: `app:${'t'.repeat(128)}`, registry: 'docker.io', repository: 'library/app', tag: 't'.repeat(128), normalized: `docker.io/library/app:${'t'.repeat(128)}` },
  // The registry host is lower-cased (so GHCR.io cannot dodge a ghcr.io policy).
  { input: 'GHCR.io/org/app', registry: 'ghcr.io', repository: 'org/app', tag: 'latest', normalized: 'ghcr.io/org/app:latest' },
  { input: 'Docker.io/nginx', registry: 'docker.io', repository: 'library/nginx', tag: 'latest', normalized: 'docker.io/library/nginx:latest' },
];

interface InvalidCase {
  input: string;
  problem: RegExp;
}

const invalid: InvalidCase[] = [
  { input: '', problem: /^image reference is empty/ },
  { input: ' nginx', problem: /leading or trailing whitespace/ },
  { input: 'nginx\n', problem: /leading or trailing whitespace/ },
  { input: 'Nginx', problem: /repository name must be lowercase$/ },
  { input: 'docker.io/MyOrg/app', problem: /repository name must be lowercase$/ },
  { input: 'ghcr.io/org/App:v1', problem: /repository name must be lowercase$/ },
  { input: 'invalid,image', problem: /path component "invalid,image" is invalid/ },
  { input: 'a"b', problem: /path component "a\\"b" is invalid/ },
  { input: 'x@sha256:123', problem: /64 hexadecimal characters, but "123" has 3$/ },
  { input: `x@sha512:${'a'.repeat(128)}`, problem: /digest algorithm "sha512" is not supported; only sha256/ },
  { input: `x@md5:${'a'.repeat(32)}`, problem: /digest algorithm "md5" is not supported/ },
  { input: `x@sha256:${HEX.toUpperCase()}`, problem: /lower-case hexadecimal$/ },
  { input: `x@sha256:${'g'.repeat(64)}`, problem: /only contain the characters 0-9 and a-f/ },
  { input: 'x@', problem: /nothing follows "@"/ },
  { input: `x@${DIGEST}@${DIGEST}`, problem: /more than one "@"/ },
  { input: 'nginx:', problem: /nothing follows ":"/ },
  { input: 'nginx:.bad', problem: /tag "\.bad" is invalid/ },
  { input: `nginx:${'t'.repeat(129)}`, problem: /tag "t+…" is invalid/ },
  { input: 'nginx:a/b', problem: /registry "nginx:a" is not a host name/ },
  { input: 'MyOrg/app', problem: /"MyOrg" has upper-case letters, so it would be taken as a registry host/ },
  { input: 'ghcr.io/org//app', problem: /empty path component/ },
  { input: 'ghcr.io/', problem: /repository name is empty/ },
  { input: '/app', problem: /empty path component/ },
  { input: 'app/', problem: /empty path component/ },
  { input: 'a___b', problem: /path component "a___b" is invalid/ },
  { input: '-app', problem: /path component "-app" is invalid/ },
  { input: 'my_registry.io:port/app', problem: /registry "my_registry\.io:port" is not a host name/ },
  { input: '[::1/app', problem: /registry "\[::1" is not a host name/ },
  { input: HEX, problem: /is an image ID, not a repository name/ },
  { input: `ghcr.io/${'a'.repeat(248)}`, problem: /longer than 255 characters/ },
];

describe('parseImageReference', () => {
  for (const c of valid) {
    it(`parses ${JSON.stringify(c.input.length > 60 ? `${c.input.slice(0, 60)}…` : c.input)}`, () => {
      const ref = parseImageReference(c.input);
      expect(ref).to.deep.equal({
        original: c.input,
        registry: c.registry,
        repository: c.repository,
        ...(c.tag === undefined ? {} : { tag: c.tag }),
        ...(c.digest === undefined ? {} : { digest: c.digest }),
        name: `${c.registry}/${c.repository}`,
        normalized: c.normalized,
      });
    });
  }

  for (const c of invalid) {
    it(`rejects ${JSON.stringify(c.input.length > 60 ? `${c.input.slice(0, 60)}…` : c.input)}`, () => {
      let caught: unknown;
      try {
        parseImageReference(c.input);
      } catch (err) {
        caught = err;
      }
      expect(caught).to.be.instanceOf(ImprimaturError);
      const error = caught as ImprimaturError;
      expect(error.code).to.equal('IMAGE_REFERENCE_INVALID');
      expect(error.message).to.match(c.problem);
      if (c.input !== '') expect(error.message).to.contain(JSON.stringify(c.input).slice(0, 50));
    });
  }

  it('accepts a name of exactly 255 characters', () => {
    const ref = parseImageReference(`ghcr.io/${'a'.repeat(247)}`);
    expect(ref.name).to.have.length(255);
  });

  it('normalises every accepted reference to a string that parses to itself', () => {
    for (const c of valid) {
      const again = parseImageReference(parseImageReference(c.input).normalized);
      expect(again.normalized, c.input).to.equal(c.normalized);
    }
  });
});

describe('withDigest', () => {
  it('pins a tagged reference and keeps its tag and original', () => {
    const pinned = withDigest(parseImageReference('nginx:1.25'), DIGEST);
    expect(pinned).to.deep.equal({
      original: 'nginx:1.25',
      registry: 'docker.io',
      repository: 'library/nginx',
      tag: '1.25',
      digest: DIGEST,
      name: 'docker.io/library/nginx',
      normalized: `docker.io/library/nginx:1.25@${DIGEST}`,
    });
  });

  it('replaces an existing digest', () => {
    const pinned = withDigest(parseImageReference(`ghcr.io/org/app@${DIGEST}`), OTHER_DIGEST);
    expect(pinned.normalized).to.equal(`ghcr.io/org/app@${OTHER_DIGEST}`);
    expect(pinned.tag).to.equal(undefined);
  });

  it('refuses a digest that is not sha256 with 64 lower-case hex characters', () => {
    const ref = parseImageReference('nginx');
    expect(() => withDigest(ref, 'sha256:abc')).to.throw(ImprimaturError, /cannot pin image "docker\.io\/library\/nginx:latest" to a digest/);
    expect(() => withDigest(ref, `sha512:${'a'.repeat(128)}`)).to.throw(ImprimaturError, /only sha256/);
  });
});

describe('formatReference', () => {
  it('joins registry, repository, tag and digest', () => {
    expect(formatReference({ registry: 'ghcr.io', repository: 'org/app' })).to.equal('ghcr.io/org/app');
    expect(formatReference({ registry: 'ghcr.io', repository: 'org/app', tag: 'v1', digest: DIGEST })).to.equal(`ghcr.io/org/app:v1@${DIGEST}`);
  });
});
