/**
 * Issue 11, item 9: connections to the webhook cannot pile up. A connection that never finishes the TLS handshake, or
 * finishes it and never sends a request, is closed; past the connection cap new connections are closed on arrival;
 * ordinary keep-alive requests are unaffected. The real HTTPS webhook with small limits.
 */
import { expect } from 'chai';
import { connect as tcpConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { staticPolicy } from '../support/configs.js';
import { review, workload } from '../support/reviews.js';
import { startRegistry } from '../harness/registry.js';
import { cosignConfig, pushSignedWorld } from '../cache/world.js';
import { startWebhook, type TestWebhook } from '../support/webhook.js';

/** Resolves with the ms until the server closed `socket` (rejects after `maxMs`). */
function closedWithin(socket: Socket, maxMs: number): Promise<number> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the server did not close the connection within ${maxMs} ms`));
    }, maxMs);
    socket.on('error', () => undefined);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(Date.now() - started);
    });
  });
}

describe('webhook connections: handshake and idle timeouts, connection cap', function () {
  this.timeout(30_000);
  let hook: TestWebhook;
  before(async () => {
    hook = await startWebhook(staticPolicy(), { connections: { handshakeTimeoutMs: 500, idleTimeoutMs: 500, headersTimeoutMs: 500 } });
  });
  after(async () => hook?.close());

  it('closes a TCP connection that never starts the TLS handshake', async () => {
    const socket = tcpConnect(hook.server.port, '127.0.0.1');
    const ms = await closedWithin(socket, 5000);
    expect(ms).to.be.within(300, 5000);
  });

  it('closes a TLS connection on which no request arrives', async () => {
    const socket = tlsConnect({ port: hook.server.port, host: '127.0.0.1', rejectUnauthorized: false });
    await new Promise<void>((resolve, reject) => { socket.once('secureConnect', resolve); socket.once('error', reject); });
    const ms = await closedWithin(socket, 5000);
    expect(ms).to.be.within(300, 5000);
  });

  it('closes a connection that sends only part of its request headers', async () => {
    const socket = tlsConnect({ port: hook.server.port, host: '127.0.0.1', rejectUnauthorized: false });
    await new Promise<void>((resolve) => socket.once('secureConnect', resolve));
    socket.write('POST /mutate HTTP/1.1\r\nHost: x\r\n'); // and never the rest
    const ms = await closedWithin(socket, 5000);
    expect(ms).to.be.within(300, 5000);
  });

  it('a keep-alive connection stays usable after its first request (the idle timer only covers the wait for it)', async () => {
    expect((await hook.post(undefined, { method: 'GET', path: '/health' })).status).to.equal(200);
    await new Promise((r) => setTimeout(r, 800));
    expect((await hook.post(undefined, { method: 'GET', path: '/health' })).status).to.equal(200);
  });

  it('a request whose verification takes longer than the idle timeout is answered in full', async () => {
    const registry = await startRegistry();
    try {
      const world = await pushSignedWorld(registry, 1, 0);
      const slow = await startWebhook(cosignConfig(registry, world.key), { connections: { idleTimeoutMs: 300, headersTimeoutMs: 300 } });
      try {
        registry.front.setFault({ kind: 'delay', ms: 1000 }, /\/manifests\/1\.0$/);
        const res = await slow.post(review('Pod', workload('Pod', { containers: [world.signed[0]!] })));
        expect(res.json.response.allowed).to.equal(true);
      } finally {
        await slow.close();
      }
    } finally {
      await registry.stop();
    }
  });

  it('past the cap, new connections are closed on arrival; once others close, connections are accepted again', async () => {
    const capped = await startWebhook(staticPolicy(), { connections: { maxConnections: 3 } });
    try {
      const open = () => new Promise<Socket>((resolve, reject) => {
        const s = tlsConnect({ port: capped.server.port, host: '127.0.0.1', rejectUnauthorized: false }, () => resolve(s));
        s.once('error', reject);
        s.once('close', () => reject(new Error('closed before the handshake')));
      });
      const held = [await open(), await open(), await open()];
      const extra = tcpConnect(capped.server.port, '127.0.0.1');
      const ms = await closedWithin(extra, 3000);
      expect(ms, 'closed on arrival, not after the handshake timeout').to.be.below(1000);
      for (const s of held) s.destroy();
      await new Promise((r) => setTimeout(r, 200));
      expect((await capped.post(undefined, { method: 'GET', path: '/health' })).status).to.equal(200);
    } finally {
      await capped.close();
    }
  });
});
