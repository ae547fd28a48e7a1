/**
 * The docker/distribution `reference` grammar (github.com/distribution/reference, regexp.go),
 * as anchored regular expressions. containerd and CRI-O parse image references with it.
 */

const alphanumeric = '[a-z0-9]+';
/** Separators allowed inside a path component: `.`, `_`, `__`, or one or more `-`. */
const separator = '(?:[._]|__|-+)';
const domainNameComponent = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const domainName = `${domainNameComponent}(?:\\.${domainNameComponent})*`;
const ipv6Address = '\\[[a-fA-F0-9:]+\\]';

/** One `/`-separated component of a repository path, e.g. `library`, `my_app`, `a-b.c`. */
export const PATH_COMPONENT = new RegExp(`^${alphanumeric}(?:${separator}${alphanumeric})*$`);

/** A registry: host name, IPv4 address or bracketed IPv6 address, with an optional port. */
export const DOMAIN_AND_PORT = new RegExp(`^(?:${domainName}|${ipv6Address})(?::[0-9]+)?$`);

/** A tag: a word character, then up to 127 word characters, `.` or `-`. */
export const TAG = /^\w[\w.-]{0,127}$/;

/** A bare 64-character hex string; the runtime refuses it as a repository name (it looks like an image ID). */
export const IMAGE_ID = /^[a-f0-9]{64}$/;

/** Longest allowed `registry/repository`. */
export const NAME_TOTAL_LENGTH_MAX = 255;

/** Docker Hub, as the runtime spells it after normalisation. */
export const DOCKER_HUB = 'docker.io';
/** The legacy Docker Hub host name the runtime rewrites to `docker.io`. */
export const LEGACY_DOCKER_HUB = 'index.docker.io';
/** Prefix of Docker Hub single-component ("official") repositories. */
export const OFFICIAL_REPOSITORY_PREFIX = 'library/';
export const DEFAULT_TAG = 'latest';
