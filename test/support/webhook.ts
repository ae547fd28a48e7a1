/** Starts the real HTTPS webhook on a temp config and talks to it with real HTTPS requests. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { Agent } from 'undici';
import { silentLogger } from '../../src/log.js';
import { startServer, type RunningServer, type ServeOptions } from '../../src/server/start.js';
import { localSelfSigned } from '../../src/server/tls.js';

export interface TestWebhook {
  server: RunningServer;
  url: string;
  configFile: string;
  post(body: unknown, opts?: { contentType?: string; raw?: string | Buffer; method?: string; path?: string }): Promise<{ status: number; json: any; text: string }>;
  close(): Promise<void>;
}

export function writeTempConfig(yamlText: string, name = 'config.yaml'): string {
  const dir = mkdtempSync(join(tmpdir(), 'imprimatur-cfg-'));
  const file = join(dir, name);
  writeFileSync(file, yamlText);
  return file;
}

const tls = () => localSelfSigned(join(tmpdir(), 'imprimatur-test-tls'));

export async function startWebhook(configYaml: string, extra: Partial<ServeOptions> = {}): Promise<TestWebhook> {
  const configFile = writeTempConfig(configYaml);
  const material = tls();
  const server = await startServer({ configFile, port: 0, tls: material, logger: silentLogger, reloadPollMs: 0, ...extra });
  const dispatcher = new Agent({ connect: { ca: material.cert } });
  return {
    server,
    url: server.url,
    configFile,
    async post(body, opts = {}) {
      const res = await request(`${server.url}${opts.path ?? '/mutate'}`, {
        method: (opts.method ?? 'POST') as 'POST',
        headers: { 'content-type': opts.contentType ?? 'application/json' },
        body: opts.method === 'GET' || opts.method === 'HEAD' ? undefined : opts.raw ?? JSON.stringify(body),
        dispatcher,
      });
      const text = await res.body.text();
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
      return { status: res.statusCode, json, text };
    },
    async close() {
      await dispatcher.close();
      await server.close();
    },
  };
}
