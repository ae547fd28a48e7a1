/**
 * Where the webhook listens. The chart runs `serve --host "*"`: in a pod the API server and the kubelet's probes
 * reach it on the pod's IP, never on 127.0.0.1 (the default, right for a laptop).
 */
import { connect } from 'node:net';
import { networkInterfaces } from 'node:os';
import { expect } from 'chai';
import { startWebhook } from '../support/webhook.js';
import { staticPolicy } from '../support/configs.js';

/** Resolves true when a TCP connection to address:port opens. */
function reachable(address: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: address, port, timeout: 2000 });
    socket.once('connect', () => { socket.destroy(); resolve(true); });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => { socket.destroy(); resolve(false); });
  });
}

/** Addresses of this machine besides loopback (what a pod's IP is to the API server). */
function externalAddresses(): string[] {
  return Object.values(networkInterfaces()).flat()
    .filter((a) => a && !a.internal && !a.address.startsWith('fe80'))
    .map((a) => a!.address);
}

describe('listen address', () => {
  it('by default listens on 127.0.0.1 only', async () => {
    const hook = await startWebhook(staticPolicy());
    try {
      expect(await reachable('127.0.0.1', hook.server.port)).to.equal(true);
      for (const address of externalAddresses()) expect(await reachable(address, hook.server.port), address).to.equal(false);
    } finally {
      await hook.close();
    }
  });

  it('with host "*" listens on every interface, IPv4 and IPv6, and answers requests', async () => {
    const addresses = externalAddresses();
    if (addresses.length === 0) throw new Error('this machine has no non-loopback address to test with');
    const hook = await startWebhook(staticPolicy(), { host: '*' });
    try {
      expect(hook.url).to.equal(`https://127.0.0.1:${hook.server.port}`);
      for (const address of [...addresses, '127.0.0.1']) expect(await reachable(address, hook.server.port), address).to.equal(true);
      const health = await hook.post(undefined, { method: 'GET', path: '/health' });
      expect(health.json).to.deep.equal({ status: 'ok' });
    } finally {
      await hook.close();
    }
  });
});
