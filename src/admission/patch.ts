import type { ContainerImage } from './workload.js';

export type JsonPatchOp =
  | { op: 'replace'; path: string; value: string }
  | { op: 'add'; path: string; value: string | Record<string, string> }
  | { op: 'remove'; path: string };

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

/** Sets and removes `metadata.annotations` entries of `object` (only those present are removed). */
export function annotationPatch(object: Record<string, unknown> | null | undefined, set: Record<string, string>, remove: readonly string[]): JsonPatchOp[] {
  const metadata = object?.metadata as { annotations?: Record<string, unknown> | null } | undefined;
  const current = metadata?.annotations && typeof metadata.annotations === 'object' ? metadata.annotations : undefined;
  const ops: JsonPatchOp[] = [];
  const present = (key: string) => current !== undefined && Object.hasOwn(current, key);
  for (const key of remove) if (present(key) && !Object.hasOwn(set, key)) ops.push({ op: 'remove', path: `/metadata/annotations/${pointerToken(key)}` });
  const entries = Object.entries(set).filter(([key, value]) => current?.[key] !== value);
  if (entries.length === 0) return ops;
  if (current === undefined) return [...ops, { op: 'add', path: '/metadata/annotations', value: Object.fromEntries(entries) }];
  for (const [key, value] of entries) ops.push({ op: 'add', path: `/metadata/annotations/${pointerToken(key)}`, value });
  return ops;
}

/** RFC 6901 escaping of one JSON Pointer token. */
function pointerToken(key: string): string {
  return key.replaceAll('~', '~0').replaceAll('/', '~1');
}
