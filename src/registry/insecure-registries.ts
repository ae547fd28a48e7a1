/** Which hosts may be reached over plain HTTP: exactly those listed in `insecureRegistries` (`host[:port]`). */
export function isInsecureHost(insecureRegistries: readonly string[], host: string): boolean {
  const wanted = host.toLowerCase();
  return insecureRegistries.some((entry) => entry.trim().toLowerCase().replace(/^https?:\/\//, '').replace(/\/+$/, '') === wanted);
}

/** `host[:port]` of a URL with the default port made explicit when one is given, e.g. `registry:80`. */
export function urlHosts(url: URL): string[] {
  const hosts = [url.host.toLowerCase()];
  if (!url.port) hosts.push(`${url.hostname.toLowerCase()}:${url.protocol === 'https:' ? 443 : 80}`);
  return hosts;
}

/** Whether a URL may be fetched: https always, http only for a host listed in `insecureRegistries`. */
export function isSchemeAllowed(insecureRegistries: readonly string[], url: URL): boolean {
  if (url.protocol === 'https:') return true;
  if (url.protocol !== 'http:') return false;
  return urlHosts(url).some((h) => isInsecureHost(insecureRegistries, h));
}
