/** The warm-path baseline: a no-op express HTTPS handler that reads the AdmissionReview and answers `allowed: true`. */
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import express from 'express';
import type { TlsMaterial } from '../src/server/tls.js';

export async function startBaseline(tls: TlsMaterial): Promise<{ url: string; close(): Promise<void> }> {
  const app = express();
  app.post('/mutate', express.raw({ type: () => true, limit: 3 * 1024 * 1024 }), (req, res) => {
    const review = JSON.parse((req.body as Buffer).toString('utf8')) as { request: { uid: string } };
    res.json({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: review.request.uid, allowed: true } });
  });
  const server: Server = createServer({ cert: tls.cert, key: tls.key }, app);
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `https://127.0.0.1:${port}/mutate`,
    close: () => new Promise<void>((r) => { server.close(() => r()); server.closeAllConnections(); }),
  };
}
