import type { ContainerImage } from './workload.js';

export interface JsonPatchOp {
  op: 'replace';
  path: string;
  value: string;
}

/** Pins `image` to `digest`, keeping the user's reference: `nginx:1.25` → `nginx:1.25@sha256:…`. */
export function pinnedImage(image: string, digest: string): string {
  return image.includes('@') ? image : `${image}@${digest}`;
}

/** One `replace` per container whose image was verified and is not yet pinned. */
export function digestPatch(containers: ContainerImage[], digests: Map<string, string>): JsonPatchOp[] {
  const ops: JsonPatchOp[] = [];
  for (const c of containers) {
    const digest = digests.get(c.image);
    if (!digest || c.image.includes('@')) continue;
    ops.push({ op: 'replace', path: c.pointer, value: pinnedImage(c.image, digest) });
  }
  return ops;
}
