import { expect } from 'chai';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { writeTempConfig } from '../support/webhook.js';

const BIN = join(process.cwd(), 'bin', 'imprimatur.js');
const run = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, IMPRIMATUR_LOG_LEVEL: 'silent' } });

describe('CLI (the built bin/imprimatur.js)', () => {
  it('--help prints usage and exits 0', () => {
    const r = run('--help');
    expect(r.status).to.equal(0);
    expect(r.stdout).to.contain('imprimatur serve').and.contain('check-config').and.contain('explain');
  });

  it('check-config on the shipped default policy exits 0 with a one-line summary', () => {
    const r = run('check-config', 'policies/default.yaml');
    expect(r.status, r.stderr).to.equal(0);
    expect(r.stdout.trim().split('\n')).to.have.length(1);
    expect(r.stdout).to.match(/valid — \d+ validator\(s\)/);
  });

  it('check-config on a broken file exits 1 with one line per problem naming file and path', () => {
    const file = writeTempConfig('validators:\n  - name: deny\n    type: static\n    approve: false\npolicy:\n  - pattern: "*:*"\n    validator: denny\n  - pattern: "x/*"\n    validator: deny\n    with:\n      mode: sometimes\n');
    const r = run('check-config', file);
    expect(r.status).to.equal(1);
    const lines = r.stderr.trim().split('\n');
    expect(lines).to.have.length(2);
    expect(lines[0]).to.contain(file).and.contain('policy[0].validator').and.contain('unknown validator "denny"');
    expect(lines[1]).to.contain('policy[1].with.mode');
  });

  it('check-config exits 1 for a missing file', () => {
    const r = run('check-config', '/nonexistent/config.yaml');
    expect(r.status).to.equal(1);
    expect(r.stderr).to.contain('file does not exist');
  });

  it('explain: exit 0 when every image would be admitted, with rule, runners-up and validator', () => {
    const r = run('explain', 'registry.k8s.io/pause:3.9');
    expect(r.status, r.stderr).to.equal(0);
    expect(r.stdout).to.contain('reference:   registry.k8s.io/pause:3.9').and.contain('rule:        "registry.k8s.io/*"').and.contain('runners-up:  "*:*"').and.contain('validator:   allow (static)').and.contain('ADMITTED');
  });

  it('explain: exit 1 when one image would be denied; --json gives the same as data', () => {
    const r = run('explain', '--json', 'registry.k8s.io/pause:3.9', 'quay.io/someone/app:1.0');
    expect(r.status).to.equal(1);
    const data = JSON.parse(r.stdout);
    expect(data).to.have.length(2);
    expect(data[1]).to.include({ image: 'quay.io/someone/app:1.0', normalized: 'quay.io/someone/app:1.0', outcome: 'denied', code: 'STATIC_DENY' });
    expect(data[1].rule.pattern).to.equal('*:*');
    expect(data[1].validator).to.deep.equal({ name: 'deny', type: 'static' });
  });

  it('explain: says which enforcement applies (default, rule, namespace)', () => {
    const file = writeTempConfig('validators:\n  - name: deny\n    type: static\n    approve: false\npolicy:\n  - pattern: "*:*"\n    validator: deny\n  - pattern: "staging.example/*"\n    validator: deny\n    with:\n      enforcement: detect\n');
    const plain = run('explain', '--config', file, 'quay.io/x/app:1', 'staging.example/app:1');
    expect(plain.status).to.equal(1);
    const blocks = plain.stdout.split(/\n(?=\S)/);
    expect(blocks[0]).to.contain('  enforcement: enforce (default)').and.contain('  outcome:     DENIED [STATIC_DENY]');
    expect(blocks[1]).to.contain('  enforcement: detect (rule: with.enforcement is detect)').and.contain('  outcome:     DENIED (detection: admitted with a warning) [STATIC_DENY]');
    expect(run('check-config', file).stdout).to.match(/, 2 rule\(s\), 0 alert receiver\(s\), detection mode off, 1 rule\(s\) in detection \(with\.enforcement: detect\)\n$/);
    const ns = run('explain', '--config', file, '--json', '--namespace-mode', 'detect', 'quay.io/x/app:1');
    expect(JSON.parse(ns.stdout)[0].enforcement).to.deep.equal({ enforcement: 'detect', source: 'namespace' });
    expect(run('explain', '--config', file, '--namespace-mode', 'sometimes', 'x').status).to.equal(2);
  });

  it('explain: exit 2 on usage or config errors', () => {
    expect(run('explain').status).to.equal(2);
    expect(run('explain', '--config', '/nonexistent.yaml', 'nginx').status).to.equal(2);
  });

  it('unknown command exits 2', () => {
    expect(run('frobnicate').status).to.equal(2);
  });

  it('serve with no config: pause allowed; an unlisted image 403 naming rule *:*; nginx denied with the Docker Official Images message', async function () {
    this.timeout(30000);
    const cache = mkdtempSync(join(tmpdir(), 'imprimatur-cache-'));
    const child = spawn(process.execPath, [BIN, 'serve', '--port', '0'], { env: { ...process.env, IMPRIMATUR_CACHE_DIR: cache, IMPRIMATUR_LOG_LEVEL: 'silent' } });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let err = '';
        child.stderr.on('data', (d) => {
          err += String(d);
          const m = /listening on (https:\/\/[^ ]+)/.exec(err);
          if (m) resolve(m[1]!);
        });
        child.once('exit', (code) => reject(new Error(`serve exited ${code}: ${err}`)));
      });
      const dispatcher = new Agent({ connect: { ca: readFileSync(join(cache, 'tls', 'localhost.crt')) } });
      const post = async (file: string) => {
        const res = await request(`${url}/mutate`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: readFileSync(file), dispatcher });
        return (await res.body.json()) as any;
      };
      const ok = await post('test/fixtures/admission/pod-pause.json');
      expect(ok.response.allowed).to.equal(true);
      const denied = await post('test/fixtures/admission/pod-unlisted.json');
      expect(denied.response.allowed).to.equal(false);
      expect(denied.response.status.code).to.equal(403);
      expect(denied.response.status.message).to.contain('rule "*:*"');
      // docker.io/library/* is denied by a static validator whose message says why and what to do.
      const nginx = await post('test/fixtures/admission/pod-nginx.json');
      expect(nginx.response.allowed).to.equal(false);
      expect(nginx.response.status.code).to.equal(403);
      expect(nginx.response.status.message).to.contain('image "docker.io/library/nginx:1.25" (rule "docker.io/library/*", validator "docker-official-images"): Docker Official Images carry no publisher signature')
        .and.contain('notary.docker.io down on 2026-12-08').and.contain('dhi.io/<name>').and.contain('docs/docker-hub.md');
      await dispatcher.close();
    } finally {
      child.kill('SIGTERM');
    }
  });
});
