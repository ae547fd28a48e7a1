import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const created = new Set<string>();
process.once('exit', removeTempDirs);

/** A fresh directory under the system temp dir, removed when the test process exits (or by removeTempDirs). */
export function makeTempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `imprimatur-${prefix}-`));
  created.add(dir);
  return dir;
}

export function removeTempDirs(): void {
  for (const dir of created) rmSync(dir, { recursive: true, force: true });
  created.clear();
}
