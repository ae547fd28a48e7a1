import { makeTestKey, NotaryCli, type NotaryServer, type TestKey } from '../harness/notary.js';
import { digest } from './helpers.js';

/** Repositories published by the real notary CLI for the notaryv1 tests. */
export const GUN = {
  /** Tags signed directly in `targets` (like Docker Hub official images). */
  plain: 'docker.io/library/alpine',
  /** `targets/releases` (what `docker trust sign` writes) plus delegations `qa` and `dev`. */
  delegated: 'registry.test/team/app',
  /** `targets` and `targets/releases` sign one tag with different digests. */
  conflict: 'registry.test/team/conflict',
  /** Root key is RSA (`rsa-x509`, signatures `rsapss`). */
  rsa: 'registry.test/team/rsa-rooted',
};

export const D = {
  plain319: digest('d1'),
  plainEdge: digest('d2'),
  v1: digest('a1'),
  v2: digest('a2'),
  devV1: digest('a3'),
  topOnly: digest('a4'),
  conflictReleases: digest('c1'),
  conflictTargets: digest('c2'),
  rsa: digest('b1'),
};

export interface Published {
  cli: NotaryCli;
  root: TestKey;
  other: TestKey;
  rsaRoot: TestKey;
}

export async function publishScenarios(server: NotaryServer): Promise<Published> {
  const cli = new NotaryCli(server);
  const root = makeTestKey(cli.dir, 'root');
  const other = makeTestKey(cli.dir, 'other');
  const releases = makeTestKey(cli.dir, 'releases');
  const qa = makeTestKey(cli.dir, 'qa');
  const dev = makeTestKey(cli.dir, 'dev');
  const rsaRoot = makeTestKey(cli.dir, 'rsa-root', 'rsa');

  await cli.init(GUN.plain, root);
  await cli.addHash(GUN.plain, '3.19', D.plain319);
  await cli.addHash(GUN.plain, 'edge', D.plainEdge);

  await cli.init(GUN.delegated, root);
  await cli.addHash(GUN.delegated, 'top-only', D.topOnly);
  await cli.addDelegation(GUN.delegated, 'targets/releases', releases);
  await cli.addDelegation(GUN.delegated, 'targets/qa', qa);
  await cli.addDelegation(GUN.delegated, 'targets/dev', dev);
  await cli.addHash(GUN.delegated, 'v1', D.v1, 'targets/releases');
  await cli.addHash(GUN.delegated, 'v2', D.v2, 'targets/releases');
  await cli.addHash(GUN.delegated, 'v1', D.v1, 'targets/qa');
  await cli.addHash(GUN.delegated, 'v1', D.devV1, 'targets/dev');

  await cli.init(GUN.conflict, root);
  await cli.addDelegation(GUN.conflict, 'targets/releases', releases);
  await cli.addHash(GUN.conflict, 'v1', D.conflictReleases, 'targets/releases');
  await cli.addHash(GUN.conflict, 'v1', D.conflictTargets);

  await cli.init(GUN.rsa, rsaRoot);
  await cli.addHash(GUN.rsa, '1.0', D.rsa);
  return { cli, root, other, rsaRoot };
}
