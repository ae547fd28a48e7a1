/**
 * Policy patterns: globs over image references, normalised like image references.
 *
 * A pattern is `name[:tag][@digest]`, where each part may contain `*` (any run of characters,
 * including `/`). The name is normalised the way the runtime normalises an image name:
 *
 *   nginx                    -> docker.io/library/nginx
 *   myorg/app:*              -> docker.io/myorg/app:*
 *   docker.io/test:*         -> docker.io/library/test:*
 *   index.docker.io/myorg/*  -> docker.io/myorg/*
 *   *:*, ghcr.io/*           -> unchanged (a first component with `*`, `.` or `:` is a registry glob)
 *
 * Matching is anchored at both ends, part by part (see `compilePattern`).
 */

import type { ImageReference } from '../image/types.js';
import { DOCKER_HUB, LEGACY_DOCKER_HUB, OFFICIAL_REPOSITORY_PREFIX } from '../image/grammar.js';
import { quoteInput } from '../image/quote.js';
import { compileGlob } from './glob.js';

/** A pattern split into its name glob and optional tag and digest globs. */
export interface PatternParts {
  name: string;
  tag?: string;
  digest?: string;
}

/** A pattern ready to be matched against image references. */
export interface CompiledPattern {
  /** The pattern as written. */
  readonly pattern: string;
  readonly normalized: string;
  /** Whether the pattern matches the reference (see the module documentation for the semantics). */
  matches(ref: ImageReference): boolean;
  /**
   * The reference spelled the way the pattern is written: `name`, plus `:tag` when the pattern has a
   * tag part and `@digest` when it has a digest part (missing parts spelled empty). Specificity is
   * computed against this string.
   */
  subject(ref: ImageReference): string;
}

const ALLOWED_CHARACTERS = /^[A-Za-z0-9._\-/:@*[\]]$/;

/** Splits at the first `@` (digest) and at the last `:` after the last `/` of the rest (tag). */
export function splitPattern(pattern: string): PatternParts {
  const at = pattern.indexOf('@');
  const nameAndTag = at === -1 ? pattern : pattern.slice(0, at);
  const digest = at === -1 ? undefined : pattern.slice(at + 1);
  const colon = nameAndTag.lastIndexOf(':');
  const hasTag = colon !== -1 && colon > nameAndTag.lastIndexOf('/');
  return {
    name: hasTag ? nameAndTag.slice(0, colon) : nameAndTag,
    ...(hasTag ? { tag: nameAndTag.slice(colon + 1) } : {}),
    ...(digest === undefined ? {} : { digest }),
  };
}

/** Normalises a pattern (see the module documentation). Usable on any string; check it first with `checkPattern`. */
export function normalizePattern(pattern: string): string {
  return joinPattern(normalizeParts(splitPattern(pattern)));
}

/** A sentence saying why `pattern` cannot be used, or undefined when it is usable. */
export function checkPattern(pattern: string): string | undefined {
  if (typeof pattern !== 'string' || pattern === '') {
    return 'pattern is empty; write an image pattern such as "docker.io/myorg/*" or "*:*"';
  }
  if (/\s/.test(pattern)) return `pattern ${quoteInput(pattern)} contains whitespace; remove it`;
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(pattern);
  if (scheme) {
    return `pattern ${quoteInput(pattern)} starts with "${scheme[1]}://"; patterns have no scheme, they are written as image references are: ${quoteInput(pattern.slice(scheme[0].length))}`;
  }
  const bad = [...pattern].find((character) => !ALLOWED_CHARACTERS.test(character));
  if (bad !== undefined) {
    return `pattern ${quoteInput(pattern)} contains ${quoteInput(bad)}, which never appears in an image reference`;
  }
  const parts = normalizeParts(splitPattern(pattern));
  if (parts.digest !== undefined && parts.digest.includes('@')) return `pattern ${quoteInput(pattern)} contains more than one "@"`;
  if (parts.digest !== undefined && !parts.digest.startsWith('sha256:')) {
    return `pattern ${quoteInput(pattern)}: the part after "@" must start with "sha256:" (only sha256 digests exist), e.g. "…@sha256:*"`;
  }
  if (parts.tag === '') return `pattern ${quoteInput(pattern)}: nothing follows ":"; write a tag, "*" for every tag, or leave out the ":"`;
  if (parts.name === '' || parts.name.split('/').includes('')) {
    return `pattern ${quoteInput(pattern)} has an empty path component (a leading, trailing or double "/")`;
  }
  return undefined;
}

/**
 * A sentence saying why a usable `pattern` can never match, or undefined. (Connaisseur accepts such rules; they
 * are warned about rather than refused, so its configs still load.)
 */
export function patternWarning(pattern: string): string | undefined {
  const parts = normalizeParts(splitPattern(pattern));
  const repositoryGlob = parts.name.slice(parts.name.indexOf('/') + 1);
  if (repositoryGlob.toLowerCase() !== repositoryGlob || (parts.digest ?? '').toLowerCase() !== (parts.digest ?? '')) {
    return `pattern ${quoteInput(pattern)} has upper-case letters in its repository or digest, which are always lower case, so it never matches; write it in lower case`;
  }
  return undefined;
}

/**
 * Compiles a pattern. A reference matches when, each anchored at both ends:
 *   - the name glob matches `registry/repository`, and
 *   - if the pattern has a tag part, it matches the reference's tag (an absent tag counts as
 *     empty, so `:*` also matches digest-only references), and
 *   - if the pattern has a digest part, it matches the reference's digest (an absent digest
 *     counts as empty, so `@sha256:*` matches only digest-pinned references).
 * A pattern without tag and digest parts matches every tag and digest of the repositories its name matches.
 */
export function compilePattern(pattern: string): CompiledPattern {
  const parts = normalizeParts(splitPattern(pattern));
  const name = compileGlob(parts.name);
  const tag = parts.tag === undefined ? undefined : compileGlob(parts.tag);
  const digest = parts.digest === undefined ? undefined : compileGlob(parts.digest);
  return {
    pattern,
    normalized: joinPattern(parts),
    matches: (ref) =>
      name.test(ref.name) && (tag === undefined || tag.test(ref.tag ?? '')) && (digest === undefined || digest.test(ref.digest ?? '')),
    subject: (ref) =>
      joinPattern({
        name: ref.name,
        ...(tag === undefined ? {} : { tag: ref.tag ?? '' }),
        ...(digest === undefined ? {} : { digest: ref.digest ?? '' }),
      }),
  };
}

function joinPattern(parts: PatternParts): string {
  return `${parts.name}${parts.tag === undefined ? '' : `:${parts.tag}`}${parts.digest === undefined ? '' : `@${parts.digest}`}`;
}

function normalizeParts(parts: PatternParts): PatternParts {
  return { ...parts, name: normalizeNameGlob(parts.name) };
}

/**
 * The runtime's Docker Hub rules, applied to a name glob. A single component without `*` is an
 * official Docker Hub image; a first component with `.`, `:` or `*`, or `localhost`, is a registry
 * (lower-cased); any other first component is a Docker Hub namespace (checkPattern refuses upper
 * case in it, as image references do).
 * `docker.io/<one component without *>` gets `library/`.
 */
function normalizeNameGlob(name: string): string {
  const slash = name.indexOf('/');
  if (slash === -1) return name.includes('*') || name === '' ? name : `${DOCKER_HUB}/${OFFICIAL_REPOSITORY_PREFIX}${name}`;
  const first = name.slice(0, slash);
  const isRegistry = /[.:*]/.test(first) || first === 'localhost';
  let registry = isRegistry ? first.toLowerCase() : DOCKER_HUB;
  const repository = isRegistry ? name.slice(slash + 1) : name;
  if (registry === LEGACY_DOCKER_HUB) registry = DOCKER_HUB;
  const official = registry === DOCKER_HUB && repository !== '' && !/[/*]/.test(repository);
  return `${registry}/${official ? OFFICIAL_REPOSITORY_PREFIX : ''}${repository}`;
}
