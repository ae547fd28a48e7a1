/**
 * A second, real mutating admission webhook (plain node:https) that changes Pods the way sidecar injectors and
 * registry rewriters do: it adds a container, or rewrites the image of the first one. Registered with a name that
 * sorts after Imprimatur's, the API server calls it after Imprimatur's mutating webhook.
 */
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';

/** `pullSecret` (add-sidecar): also appends `{name: pullSecret}` to the Pod's imagePullSecrets, as injectors of private sidecars do. */
export type Injection = { kind: 'add-sidecar'; image: string; pullSecret?: string } | { kind: 'rewrite-first'; image: string } | { kind: 'none' };

export interface InjectorWebhook {
  url: string;
  /** What to do to the next Pods (default: nothing). */
  set(injection: Injection): void;
  /** Pods it was called for. */
  calls(): number;
  stop(): Promise<void>;
}

export async function startInjectorWebhook(tls: { cert: string; key: string }): Promise<InjectorWebhook> {
  let injection: Injection = { kind: 'none' };
  let calls = 0;
  const server: Server = createServer({ cert: tls.cert, key: tls.key }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const review = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { request: { uid: string; object: { spec?: { containers?: unknown[]; imagePullSecrets?: unknown[] } } } };
      calls++;
      const ops: unknown[] = [];
      if (injection.kind === 'add-sidecar') ops.push({ op: 'add', path: '/spec/containers/-', value: { name: 'injected', image: injection.image } });
      if (injection.kind === 'add-sidecar' && injection.pullSecret) {
        ops.push(Array.isArray(review.request.object.spec?.imagePullSecrets)
          ? { op: 'add', path: '/spec/imagePullSecrets/-', value: { name: injection.pullSecret } }
          : { op: 'add', path: '/spec/imagePullSecrets', value: [{ name: injection.pullSecret }] });
      }
      if (injection.kind === 'rewrite-first') ops.push({ op: 'replace', path: '/spec/containers/0/image', value: injection.image });
      const response: Record<string, unknown> = { uid: review.request.uid, allowed: true };
      if (ops.length > 0) {
        response.patchType = 'JSONPatch';
        response.patch = Buffer.from(JSON.stringify(ops)).toString('base64');
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `https://127.0.0.1:${port}/inject`,
    set: (i) => { injection = i; },
    calls: () => calls,
    stop: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}
