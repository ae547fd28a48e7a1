/** Finds the containers of a workload object and where their `image` fields live (JSON Pointer). */

export type ContainerSection = 'containers' | 'initContainers' | 'ephemeralContainers';

export interface ContainerImage {
  /** JSON Pointer of the `image` field, e.g. `/spec/template/spec/containers/0/image`. */
  pointer: string;
  section: ContainerSection;
  container: string;
  image: string;
}

/** Where the pod spec sits in each supported kind. */
const POD_SPEC_PATH: Record<string, string[]> = {
  Pod: ['spec'],
  Deployment: ['spec', 'template', 'spec'],
  ReplicaSet: ['spec', 'template', 'spec'],
  DaemonSet: ['spec', 'template', 'spec'],
  StatefulSet: ['spec', 'template', 'spec'],
  ReplicationController: ['spec', 'template', 'spec'],
  Job: ['spec', 'template', 'spec'],
  CronJob: ['spec', 'jobTemplate', 'spec', 'template', 'spec'],
  // pods/ephemeralcontainers on Kubernetes < 1.22 sends this kind, with the list at the top level.
  EphemeralContainers: [],
};

export const SUPPORTED_KINDS = Object.keys(POD_SPEC_PATH);

export function isSupportedKind(kind: string): boolean {
  return Object.hasOwn(POD_SPEC_PATH, kind);
}

export class WorkloadShapeError extends Error {}

/** The pod spec (or pod template spec) of `object`, or undefined when it has none (e.g. EphemeralContainers). */
export function podSpecOf(kind: string, object: unknown): Record<string, unknown> | undefined {
  const path = POD_SPEC_PATH[kind];
  if (!path || path.length === 0) return undefined;
  let spec: unknown = object;
  for (const key of path) {
    if (spec === null || typeof spec !== 'object' || Array.isArray(spec)) return undefined;
    spec = (spec as Record<string, unknown>)[key];
  }
  return spec !== null && typeof spec === 'object' && !Array.isArray(spec) ? (spec as Record<string, unknown>) : undefined;
}

/** Lists every container image of `object` (a supported kind). Throws WorkloadShapeError on a malformed object. */
export function containerImages(kind: string, object: unknown): ContainerImage[] {
  const path = POD_SPEC_PATH[kind];
  if (!path) return [];
  let spec: unknown = object;
  for (const key of path) {
    if (spec === null || typeof spec !== 'object' || Array.isArray(spec)) {
      throw new WorkloadShapeError(`the ${kind} has no ${path.join('.')}`);
    }
    spec = (spec as Record<string, unknown>)[key];
  }
  if (spec === null || typeof spec !== 'object' || Array.isArray(spec)) {
    throw new WorkloadShapeError(`the ${kind} has no ${path.join('.') || 'object'}`);
  }
  const base = path.length ? `/${path.join('/')}` : '';
  const found: ContainerImage[] = [];
  const sections: ContainerSection[] = kind === 'EphemeralContainers' ? ['ephemeralContainers'] : ['containers', 'initContainers', 'ephemeralContainers'];
  for (const section of sections) {
    const list = (spec as Record<string, unknown>)[section];
    if (list === undefined || list === null) continue;
    if (!Array.isArray(list)) throw new WorkloadShapeError(`${path.concat(section).join('.')} of the ${kind} is not a list`);
    list.forEach((c: unknown, i: number) => {
      const container = c as Record<string, unknown> | null;
      const name = typeof container?.name === 'string' ? container.name : `#${i}`;
      if (container === null || typeof container !== 'object' || typeof container.image !== 'string') {
        throw new WorkloadShapeError(`container "${name}" in ${section} of the ${kind} has no image`);
      }
      found.push({ pointer: `${base}/${section}/${i}/image`, section, container: name, image: container.image });
    });
  }
  return found;
}
