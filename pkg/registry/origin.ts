// Who may receive credentials: the configured registry origin, compared as scheme + host +
// effective port, so that `host`, `host:443` and `HOST` are one origin and `host:5001` another.

export function registryBaseUrl(host: string, plainHttp = false): URL {
  if (!host || /[/@?#\s]/.test(host)) {
    throw new Error(`registry host ${JSON.stringify(host)} must be host[:port], without scheme, path or user`);
  }
  return new URL(`${plainHttp ? 'http' : 'https'}://${host}/`);
}

export function originKey(url: URL): string {
  const port = url.port || (url.protocol === 'https:' ? '443' : url.protocol === 'http:' ? '80' : '');
  return `${url.protocol}//${url.hostname.toLowerCase()}:${port}`;
}

export function sameOrigin(a: URL, b: URL): boolean {
  return originKey(a) === originKey(b);
}
