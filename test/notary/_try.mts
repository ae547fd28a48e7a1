import { startNotaryServer, NotaryCli, makeTestKey } from '../harness/notary.js';
for (const mode of ['local', 'remote'] as const) {
  const t = Date.now();
  const s = await startNotaryServer(mode);
  console.log(mode, 'up', Date.now() - t);
  const cli = new NotaryCli(s);
  const root = makeTestKey(cli.dir, 'root');
  await cli.init('docker.io/library/alpine', root);
  await cli.addHash('docker.io/library/alpine', '1.0', 'sha256:' + 'ab'.repeat(32));
  const r = await fetch(`${s.url}/v2/docker.io/library/alpine/_trust/tuf/timestamp.json`).catch(e => e.cause?.code);
  console.log(mode, 'done', Date.now() - t, r);
  await s.stop();
}
