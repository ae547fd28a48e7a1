/**
 * Parses container image references exactly as containerd and CRI-O resolve them
 * (docker/distribution `reference.ParseNormalizedNamed`), so that the image Imprimatur verifies
 * is the image the runtime pulls.
 *
 * Deliberate differences, all about upper case in the first component:
 * - the registry host is lower-cased (host names are case-insensitive, and policy patterns must
 *   not be bypassed by `GHCR.io/…`), and the Docker Hub rules (`index.docker.io` → `docker.io`,
 *   `library/` prefix) are applied after lower-casing;
 * - a first component that is a registry only because it has upper-case letters (`MyOrg/app`:
 *   no `.`, no `:`, not `localhost`) is refused: lower-casing it would turn it into a Docker Hub
 *   namespace, and the runtime would look for a host of that name, which is never what was meant.
 */

import { ImprimaturError } from '../errors.js';
import { digestProblem } from './digest.js';
import {
  DEFAULT_TAG,
  DOCKER_HUB,
  DOMAIN_AND_PORT,
  IMAGE_ID,
  LEGACY_DOCKER_HUB,
  NAME_TOTAL_LENGTH_MAX,
  OFFICIAL_REPOSITORY_PREFIX,
  PATH_COMPONENT,
  TAG,
} from './grammar.js';
import { quoteInput } from './quote.js';
import type { ImageReference } from './types.js';

export const IMAGE_REFERENCE_INVALID = 'IMAGE_REFERENCE_INVALID';

const FORMAT_HINT = 'expected [registry[:port]/]repository[:tag][@sha256:<digest>]';

/** Parses and normalises `input`; throws ImprimaturError `IMAGE_REFERENCE_INVALID` naming the input and the problem. */
export function parseImageReference(input: string): ImageReference {
  const fail = (problem: string): never => {
    throw new ImprimaturError(IMAGE_REFERENCE_INVALID, `image reference ${quoteInput(input)} is invalid: ${problem}`, {
      image: input,
      problem,
    });
  };

  if (typeof input !== 'string' || input === '') {
    throw new ImprimaturError(IMAGE_REFERENCE_INVALID, 'image reference is empty; name an image such as "nginx:1.25"', {
      image: input,
    });
  }
  if (input.trim() !== input) fail('it has leading or trailing whitespace; remove it');
  if (IMAGE_ID.test(input)) fail('a 64-character hexadecimal string is an image ID, not a repository name; pin digests as "name@sha256:<hex>"');

  const { nameAndTag, digest } = splitDigest(input, fail);
  const { name, tag } = splitTag(nameAndTag, fail);
  const { domain, remainder } = splitDomain(name);

  if (domain !== undefined && !/[.:]/.test(domain) && domain !== 'localhost') {
    fail(
      `${quoteInput(domain)} has upper-case letters, so it would be taken as a registry host without a domain or port; ` +
        'Docker Hub namespaces are lowercase',
    );
  }
  if (domain !== undefined && !DOMAIN_AND_PORT.test(domain)) {
    fail(`registry ${quoteInput(domain)} is not a host name, IPv4 address or bracketed IPv6 address with an optional ":port"`);
  }
  let registry = (domain ?? DOCKER_HUB).toLowerCase();
  if (registry === LEGACY_DOCKER_HUB) registry = DOCKER_HUB;
  const repository = registry === DOCKER_HUB && !remainder.includes('/') ? OFFICIAL_REPOSITORY_PREFIX + remainder : remainder;

  checkRepository(repository, fail);
  if ((domain ?? DOCKER_HUB).length + 1 + repository.length > NAME_TOTAL_LENGTH_MAX) {
    fail(`the name "registry/repository" is longer than ${NAME_TOTAL_LENGTH_MAX} characters`);
  }

  return buildReference(input, registry, repository, tag ?? (digest === undefined ? DEFAULT_TAG : undefined), digest);
}

/** `ref` pinned to `digest` (a `sha256:<64 hex>` digest). The tag, if any, is kept; an existing digest is replaced. */
export function withDigest(ref: ImageReference, digest: string): ImageReference {
  const problem = digestProblem(digest);
  if (problem !== undefined) {
    throw new ImprimaturError(IMAGE_REFERENCE_INVALID, `cannot pin image ${quoteInput(ref.normalized)} to a digest: ${problem}`, {
      image: ref.normalized,
      digest,
    });
  }
  return buildReference(ref.original, ref.registry, ref.repository, ref.tag, digest);
}

/** `registry/repository[:tag][@digest]`. */
export function formatReference(parts: { registry: string; repository: string; tag?: string; digest?: string }): string {
  const tag = parts.tag === undefined ? '' : `:${parts.tag}`;
  const digest = parts.digest === undefined ? '' : `@${parts.digest}`;
  return `${parts.registry}/${parts.repository}${tag}${digest}`;
}

function buildReference(
  original: string,
  registry: string,
  repository: string,
  tag: string | undefined,
  digest: string | undefined,
): ImageReference {
  return {
    original,
    registry,
    repository,
    ...(tag === undefined ? {} : { tag }),
    ...(digest === undefined ? {} : { digest }),
    name: `${registry}/${repository}`,
    normalized: formatReference({ registry, repository, tag, digest }),
  };
}

type Fail = (problem: string) => never;

function splitDigest(input: string, fail: Fail): { nameAndTag: string; digest?: string } {
  const at = input.indexOf('@');
  if (at === -1) return { nameAndTag: input };
  const digest = input.slice(at + 1);
  if (digest.includes('@')) fail('it contains more than one "@"');
  if (digest === '') fail('nothing follows "@"; write a digest such as "@sha256:<64 hex characters>"');
  const problem = digestProblem(digest);
  if (problem !== undefined) fail(problem);
  return { nameAndTag: input.slice(0, at), digest };
}

/** The tag follows the last `:` after the last `/` (a `:` before a `/` belongs to a registry port). */
function splitTag(nameAndTag: string, fail: Fail): { name: string; tag?: string } {
  const colon = nameAndTag.lastIndexOf(':');
  if (colon === -1 || colon < nameAndTag.lastIndexOf('/')) return { name: nameAndTag };
  const tag = nameAndTag.slice(colon + 1);
  if (tag === '') fail('nothing follows ":"; write a tag such as ":1.25" or leave out the ":"');
  if (!TAG.test(tag)) {
    fail(
      `tag ${quoteInput(tag)} is invalid: a tag has 1 to 128 letters, digits, "_", "." or "-" and does not start with "." or "-"`,
    );
  }
  return { name: nameAndTag.slice(0, colon), tag };
}

/**
 * The first component is a registry when it contains `.` or `:`, is `localhost`, or has upper-case
 * letters (the runtime's rule); otherwise the whole name is a Docker Hub repository.
 */
function splitDomain(name: string): { domain?: string; remainder: string } {
  const slash = name.indexOf('/');
  if (slash === -1) return { remainder: name };
  const first = name.slice(0, slash);
  const isDomain = /[.:]/.test(first) || first === 'localhost' || first.toLowerCase() !== first;
  return isDomain ? { domain: first, remainder: name.slice(slash + 1) } : { remainder: name };
}

function checkRepository(repository: string, fail: Fail): void {
  if (repository === '') fail(`the repository name is empty; ${FORMAT_HINT}`);
  if (repository.toLowerCase() !== repository) fail('repository name must be lowercase');
  for (const component of repository.split('/')) {
    if (component === '') fail(`the repository name has an empty path component (a leading, trailing or double "/"); ${FORMAT_HINT}`);
    if (PATH_COMPONENT.test(component)) continue;
    fail(
      `repository path component ${quoteInput(component)} is invalid: use lower-case letters and digits, separated by ".", "_", "__" or "-"`,
    );
  }
}
