import { expect } from 'chai';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir } from '../harness/temp-dirs.js';
import { ImprimaturError } from '../../src/errors.js';
import { findCredentials, isRegistryKey, matchingEntries, normaliseRegistryKey, parseDockerConfig, parseDockercfg } from '../../src/registry/credentials.js';
import { createCredentialSource } from '../../src/registry/credential-binding.js';

const b64 = (s: string): string => Buffer.from(s).toString('base64');

describe('registry credentials from a dockerconfigjson secret', () => {
  const config = JSON.stringify({
    auths: {
      'https://index.docker.io/v1/': { auth: b64('hub-user:hub-pass') },
      'docker.io/acme': { username: 'acme-user', password: 'acme:pass' },
      'ghcr.io': { auth: b64('gh-user:gh-pass') },
      'ghcr.io/org': { auth: b64('org-user:org-pass') },
      'ghcr.io/org/team': { auth: b64('team-user:team-pass') },
      'registry.example.com:5000': { auth: b64('port-user:port-pass') },
      'only-token.example.com': { identitytoken: 'x' },
    },
  });
  const entries = parseDockerConfig(config, 'test');

  const table: Array<[string, string, string | undefined]> = [
    ['docker.io', 'library/nginx', 'hub-user'],
    ['index.docker.io', 'library/nginx', 'hub-user'],
    ['registry-1.docker.io', 'library/nginx', 'hub-user'],
    ['docker.io', 'acme/app', 'acme-user'],
    ['docker.io', 'acme-other/app', 'hub-user'], // a prefix matches whole path segments only
    ['ghcr.io', 'someone/app', 'gh-user'],
    ['ghcr.io', 'org/app', 'org-user'],
    ['ghcr.io', 'org/team/app', 'team-user'], // longest prefix wins
    ['ghcr.io', 'org/teamx/app', 'org-user'],
    ['GHCR.IO', 'org/app', 'org-user'],
    ['registry.example.com:5000', 'a/b', 'port-user'],
    ['registry.example.com', 'a/b', undefined], // the port is part of the host
    ['quay.io', 'a/b', undefined],
    ['only-token.example.com', 'a/b', undefined],
  ];
  for (const [registry, repository, user] of table) {
    it(`${registry}/${repository} → ${user ?? 'no credentials'}`, () => {
      expect(findCredentials(entries, registry, repository)?.username).to.equal(user);
    });
  }

  it('decodes passwords containing colons', () => {
    expect(findCredentials(entries, 'docker.io', 'acme/x')?.password).to.equal('acme:pass');
    expect(findCredentials(entries, 'ghcr.io', 'x/y')?.password).to.equal('gh-pass');
  });

  it('normalises keys: scheme, /v1/ and /v2/ suffixes, Docker Hub aliases, case of the host', () => {
    expect(normaliseRegistryKey('https://index.docker.io/v1/').key).to.equal('docker.io');
    expect(normaliseRegistryKey('http://Registry.Example.com:5000/v2/').key).to.equal('registry.example.com:5000');
    expect(normaliseRegistryKey('registry-1.docker.io/Org/App/').key).to.equal('docker.io/Org/App');
  });

  it('reads <secretsDir>/<secretName>/.dockerconfigjson', () => {
    const dir = makeTempDir('secrets');
    mkdirSync(join(dir, 'regcred'));
    writeFileSync(join(dir, 'regcred', '.dockerconfigjson'), config);
    const source = createCredentialSource({ secretName: 'regcred', secretsDir: dir });
    expect(source.lookup('ghcr.io', 'org/app')?.username).to.equal('org-user');
    expect(source.description).to.equal('secret "regcred"');
  });

  it('names the path, not the content, when the secret file is missing or broken', () => {
    const dir = makeTempDir('secrets');
    const missing = createCredentialSource({ secretName: 'absent', secretsDir: dir });
    expect(() => missing.lookup('ghcr.io', 'a')).to.throw(ImprimaturError, `${join(dir, 'absent', '.dockerconfigjson')} (secret "absent") does not exist`);
    mkdirSync(join(dir, 'broken'));
    writeFileSync(join(dir, 'broken', '.dockerconfigjson'), '{"auths": {"ghcr.io": {"auth": "s3cr3t-not-json');
    const broken = createCredentialSource({ secretName: 'broken', secretsDir: dir });
    let err: ImprimaturError | undefined;
    try {
      broken.lookup('ghcr.io', 'a');
    } catch (e) {
      err = e as ImprimaturError;
    }
    expect(err?.code).to.equal('REGISTRY_CREDENTIALS_INVALID');
    expect(err?.message).to.contain(join(dir, 'broken', '.dockerconfigjson'));
    expect(err?.message).to.contain('not valid JSON');
    expect(err?.message).not.to.contain('s3cr3t');
  });

  it('refuses an "auth" that is not base64 of user:password', () => {
    expect(() => parseDockerConfig(JSON.stringify({ auths: { 'ghcr.io': { auth: b64('nocolon') } } }), 'f')).to.throw(/not base64 of user:password/);
  });

  it('refuses an entry that is not a registry (as Connaisseur does)', () => {
    // a validator's own secret (strict keys, as Connaisseur reads it) is refused ...
    expect(() => parseDockerConfig(JSON.stringify({ auths: { '[[]]\\': { auth: b64('u:p') } } }), 'f', true)).to.throw(ImprimaturError, /has an entry "\[\[\]\]\\\\" that is not a registry/);
    expect(isRegistryKey(normaliseRegistryKey('registry.io/[]\\/repo'))).to.equal(false);
    expect(isRegistryKey(normaliseRegistryKey('*.example.com:5000/team'))).to.equal(true);
    // ... a workload's pull secret skips the entry, as the kubelet does, and keeps the others
    const entries = parseDockerConfig(JSON.stringify({ auths: { '[[]]\\': { auth: b64('u:p') }, 'ghcr.io': { auth: b64('g:h') } } }), 'f');
    expect(entries.map((e) => e.key)).to.deep.equal(['ghcr.io']);
  });
});

describe("registry credentials in Connaisseur's formats", () => {
  function secret(dir: string, name: string, files: Record<string, string>): void {
    mkdirSync(join(dir, name));
    for (const [file, text] of Object.entries(files)) writeFileSync(join(dir, name, file), text);
  }

  it('reads secret.yaml (username, password, registry) — and prefers it over .dockerconfigjson, as Connaisseur', () => {
    const dir = makeTempDir('secrets');
    secret(dir, 'yaml-only', { 'secret.yaml': 'username: user\npassword: pass\nregistry: registry.example.com\n' });
    const source = createCredentialSource({ secretName: 'yaml-only', secretsDir: dir });
    expect(source.lookup('registry.example.com', 'app')).to.deep.equal({ username: 'user', password: 'pass' });
    expect(source.lookup('ghcr.io', 'app'), 'never sent to another registry').to.equal(undefined);
    secret(dir, 'both', { 'secret.yaml': 'username: yaml\npassword: y\nregistry: registry.example.com\n', '.dockerconfigjson': JSON.stringify({ auths: { 'registry.example.com': { auth: b64('json:j') } } }) });
    expect(createCredentialSource({ secretName: 'both', secretsDir: dir }).lookup('registry.example.com', 'x')?.username).to.equal('yaml');
  });

  it('binds a secret.yaml without registry to the validator\'s own host (Notary), and refuses it when there is none', () => {
    const dir = makeTempDir('secrets');
    secret(dir, 'no-registry', { 'secret.yaml': 'username: user\npassword: pass\n' });
    expect(createCredentialSource({ secretName: 'no-registry', secretsDir: dir, defaultRegistry: 'notary.example.com' }).lookup('notary.example.com', '')?.username).to.equal('user');
    expect(() => createCredentialSource({ secretName: 'no-registry', secretsDir: dir }).lookup('ghcr.io', 'x')).to.throw(ImprimaturError, /names no registry; add `registry: <host>` so the credentials are sent only there/);
    secret(dir, 'broken', { 'secret.yaml': 'username: []\npassword: {}\n' });
    expect(() => createCredentialSource({ secretName: 'broken', secretsDir: dir }).lookup('ghcr.io', 'x')).to.throw(/needs a username and a password/);
  });
});

describe('which pull secret entries apply to an image (the kubelet\'s keyring rules)', () => {
  const entry = (key: string, user: string) => ({ [key]: { auth: b64(`${user}:pw`) } });
  const users = (entries: ReturnType<typeof parseDockerConfig>, registry: string, repository: string) => matchingEntries(entries, registry, repository).map((e) => e.credentials.username);

  it('wildcard host labels match one label each (src/policy/glob.ts: linear time); the port must be equal', () => {
    const entries = parseDockerConfig(JSON.stringify({ auths: { ...entry('*.example.com', 'wild'), ...entry('*.example.com:5000', 'wild-port') } }), 't');
    expect(users(entries, 'registry.example.com', 'a')).to.deep.equal(['wild']);
    expect(users(entries, 'example.com', 'a')).to.deep.equal([]);
    expect(users(entries, 'a.b.example.com', 'a')).to.deep.equal([]);
    expect(users(entries, 'registry.example.com:5000', 'a')).to.deep.equal(['wild-port']);
    expect(users(entries, 'registry.example.com.evil.io', 'a')).to.deep.equal([]);
    expect(users(entries, 'evil.io', 'registry.example.com/a')).to.deep.equal([]);
  });

  it('every matching entry is a candidate, most specific key first (reverse lexical order), then in the order given', () => {
    const first = parseDockerConfig(JSON.stringify({ auths: { ...entry('ghcr.io', 'host'), ...entry('ghcr.io/org', 'org'), ...entry('*.io', 'wild') } }), 'a');
    const second = parseDockerConfig(JSON.stringify({ auths: entry('https://ghcr.io/v2/org', 'org-2') }), 'b');
    expect(users([...first, ...second], 'ghcr.io', 'org/app')).to.deep.equal(['org', 'org-2', 'host', 'wild']);
    expect(users([...first, ...second], 'ghcr.io', 'other/app')).to.deep.equal(['host', 'wild']);
  });

  it('reads the legacy .dockercfg format (entries at the top level)', () => {
    const entries = parseDockercfg(JSON.stringify({ 'https://quay.io': { auth: b64('legacy:pw'), email: 'x@example.com' } }), '.dockercfg');
    expect(users(entries, 'quay.io', 'org/app')).to.deep.equal(['legacy']);
  });

  it('keeps the first 256 entries of a secret', () => {
    const many = Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`r${i}.example.com`, { auth: b64(`u${i}:pw`) }]));
    expect(parseDockerConfig(JSON.stringify({ auths: many }), 'm')).to.have.length(256);
  });
});
