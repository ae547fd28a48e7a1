import { createServer } from 'node:net';

/** A free TCP port on 127.0.0.1 (asked from the kernel, then released for the caller to bind). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (address === null || typeof address === 'string') return reject(new Error('could not determine a free port'));
      server.close(() => resolve(address.port));
    });
  });
}
