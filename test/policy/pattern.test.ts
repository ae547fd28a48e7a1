import { expect } from 'chai';
import { parseImageReference } from '../../src/image/reference.js';
import { checkPattern, compilePattern, normalizePattern, patternWarning, splitPattern } from '../../src/policy/pattern.js';

const DIGEST = `sha256:${'0123456789abcdef'.repeat(4)}`;

describe('normalizePattern', () => {
  const table: Array<[string, string]> = [
    ['nginx', 'docker.io/library/nginx'],
    ['nginx:1.25', 'docker.io/library/nginx:1.25'],
    ['nginx@sha256:*', 'docker.io/library/nginx@sha256:*'],
    ['library/nginx', 'docker.io/library/nginx'],
    ['myorg/app:*', 'docker.io/myorg/app:*'],
    ['myorg/*', 'docker.io/myorg/*'],
    ['docker.io/test:*', 'docker.io/library/test:*'],
    ['index.docker.io/test', 'docker.io/library/test'],
    ['index.docker.io/myorg/*', 'docker.io/myorg/*'],
    ['docker.io/*', 'docker.io/*'],
    ['docker.io/library/*', 'docker.io/library/*'],
    ['registry-1.docker.io/x', 'registry-1.docker.io/x'],
    ['*', '*'],
    ['*:*', '*:*'],
    ['*@sha256:*', '*@sha256:*'],
    ['ngin*', 'ngin*'],
    ['*/app', '*/app'],
    ['my*/app', 'my*/app'],
    ['ghcr.io/org/*', 'ghcr.io/org/*'],
    ['GHCR.IO/org/*', 'ghcr.io/org/*'],
    ['localhost/app', 'localhost/app'],
    ['localhost:5000/app:*', 'localhost:5000/app:*'],
    ['[::1]:5000/app', '[::1]:5000/app'],
  ];
  for (const [pattern, normalized] of table) {
    it(`${pattern} -> ${normalized}`, () => {
      expect(normalizePattern(pattern)).to.equal(normalized);
    });
  }

  it('gives equal strings for patterns that mean the same (duplicate detection)', () => {
    const spellings = ['nginx', 'library/nginx', 'docker.io/nginx', 'docker.io/library/nginx', 'index.docker.io/nginx'];
    expect(new Set(spellings.map(normalizePattern))).to.deep.equal(new Set(['docker.io/library/nginx']));
    expect(normalizePattern('nginx:*')).to.not.equal(normalizePattern('nginx'));
  });

  it('is idempotent', () => {
    for (const [pattern] of table) expect(normalizePattern(normalizePattern(pattern)), pattern).to.equal(normalizePattern(pattern));
  });
});

describe('splitPattern', () => {
  it('takes the tag after the last "/" and the digest after "@"', () => {
    expect(splitPattern('localhost:5000/app')).to.deep.equal({ name: 'localhost:5000/app' });
    expect(splitPattern('*:*')).to.deep.equal({ name: '*', tag: '*' });
    expect(splitPattern('ghcr.io/a:v1@sha256:*')).to.deep.equal({ name: 'ghcr.io/a', tag: 'v1', digest: 'sha256:*' });
  });
});

describe('checkPattern', () => {
  for (const usable of ['*', '*:*', '*@sha256:*', 'nginx', 'ghcr.io/org/*:v*', '[::1]:5000/app', `ghcr.io/a@${DIGEST}`, 'ghcr.io/a:V1_X']) {
    it(`accepts ${usable}`, () => {
      expect(checkPattern(usable)).to.equal(undefined);
    });
  }

  const unusable: Array<[string, RegExp]> = [
    ['', /^pattern is empty/],
    [' nginx', /contains whitespace/],
    ['a b', /contains whitespace/],
    ['a,b', /contains ",", which never appears in an image reference/],
    ['ghcr.io/a?', /contains "\?"/],
    ['a@sha256:*@sha256:*', /more than one "@"/],
    ['nginx@sha512:*', /must start with "sha256:"/],
    ['nginx@*', /must start with "sha256:"/],
    ['nginx:', /nothing follows ":"/],
    ['ghcr.io//app', /empty path component/],
    ['/app', /empty path component/],
    ['ghcr.io/', /empty path component/],
    ['http://registry.local:5000/app:*', /starts with "http:\/\/"; patterns have no scheme, .*"registry\.local:5000\/app:\*"/],
    ['https://ghcr.io/org/*', /starts with "https:\/\/"/],
  ];
  for (const [pattern, problem] of unusable) {
    it(`refuses ${JSON.stringify(pattern)}`, () => {
      expect(checkPattern(pattern)).to.match(problem);
    });
  }

  // Connaisseur accepts these (they never match); Imprimatur loads them with a warning.
  const neverMatching: Array<[string, RegExp]> = [
    ['MyOrg/app', /upper-case letters .* never matches/],
    ['ghcr.io/Org/*', /upper-case letters/],
    ['nginx@sha256:ABC*', /upper-case letters/],
  ];
  for (const [pattern, warning] of neverMatching) {
    it(`accepts ${JSON.stringify(pattern)} with a warning that it never matches`, () => {
      expect(checkPattern(pattern)).to.equal(undefined);
      expect(patternWarning(pattern)).to.match(warning);
    });
  }
  it('has no warning for an ordinary pattern', () => {
    expect(patternWarning('ghcr.io/org/*')).to.equal(undefined);
  });
});

describe('compilePattern', () => {
  const table: Array<[pattern: string, image: string, matches: boolean]> = [
    ['docker.io/library/nginx', 'nginx:1.25', true],
    ['docker.io/library/nginx', `nginx@${DIGEST}`, true],
    ['docker.io/library/nginx', 'nginx-evil', false],
    ['docker.io/library/nginx', 'docker.io/library/nginx/sub', false],
    ['nginx', 'docker.io/library/nginx:1.25', true],
    ['nginx', 'ghcr.io/library/nginx', false],
    ['docker.io/library/nginx:latest', 'nginx', true],
    ['registry.k8s.io/*', 'registry.k8s.io/pause:3.9', true],
    ['registry.k8s.io/*', 'evil.io/registry.k8s.io/x', false],
    ['registry.k8s.io/*', 'registry.k8s.io.evil.io/x', false],
    ['ghcr.io/org/app', 'ghcrxio/org/app', false],
    ['ghcr.io/org/app:v1.2', 'ghcr.io/org/app:v1x2', false],
    ['ghcr.io/org/*', 'ghcr.io/orgevil/app', false],
    ['ghcr.io/org/*', 'GHCR.io/org/app', true],
    ['docker.io/test:*', 'test:tag', true],
    ['docker.io/library/*', 'nginx', true],
    ['docker.io/*', 'nginx', true],
    ['docker.io/*', 'myorg/app', true],
    ['myorg/app:*', 'docker.io/myorg/app:v1', true],
    ['myorg/app:*', 'ghcr.io/myorg/app:v1', false],
    ['index.docker.io/myorg/*', 'myorg/app', true],
    ['localhost:5000/*', 'localhost:5000/app', true],
    ['localhost:5000/*', 'localhost:5001/app', false],
    ['*', `ghcr.io/a@${DIGEST}`, true],
    ['*:*', `ghcr.io/a@${DIGEST}`, true],
    ['*:*', 'nginx', true],
    ['foo:*', `foo@${DIGEST}`, true],
    ['foo:v*', `foo@${DIGEST}`, false],
    ['foo:v*', `foo:v1@${DIGEST}`, true],
    ['foo@sha256:*', 'foo:v1', false],
    ['foo@sha256:*', `foo@${DIGEST}`, true],
    ['foo@sha256:*', `foo:v1@${DIGEST}`, true],
    [`foo@${DIGEST}`, `foo@sha256:${'f'.repeat(64)}`, false],
    ['*@sha256:*', 'foo:v1', false],
    ['foo:v1@sha256:*', `foo@${DIGEST}`, false],
    ['foo:v1@sha256:*', `foo:v1@${DIGEST}`, true],
    // The name glob is matched against the name only, so "*host" cannot reach into a registry port.
    ['*host:*', 'localhost:5000/app:v1', false],
  ];
  for (const [pattern, image, matches] of table) {
    it(`${pattern} ${matches ? 'matches' : 'does not match'} ${image.length > 40 ? `${image.slice(0, 40)}…` : image}`, () => {
      expect(compilePattern(pattern).matches(parseImageReference(image))).to.equal(matches);
    });
  }

  it('spells the reference the way the pattern is written', () => {
    const ref = parseImageReference(`nginx:1.25@${DIGEST}`);
    expect(compilePattern('nginx').subject(ref)).to.equal('docker.io/library/nginx');
    expect(compilePattern('nginx:*').subject(ref)).to.equal('docker.io/library/nginx:1.25');
    expect(compilePattern('nginx@sha256:*').subject(ref)).to.equal(`docker.io/library/nginx@${DIGEST}`);
    expect(compilePattern('nginx:*').subject(parseImageReference(`nginx@${DIGEST}`))).to.equal('docker.io/library/nginx:');
  });
});
