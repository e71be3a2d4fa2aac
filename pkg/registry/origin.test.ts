import { originKey, registryBaseUrl, sameOrigin } from './origin.js';

describe('sameOrigin', () => {
  it.each([
    ['the same host and port', 'https://reg:5000/v2/', 'https://reg:5000/other', true],
    ['an implicit and explicit default port', 'https://reg/v2/', 'https://reg:443/v2/', true],
    ['host names differing in case only', 'https://REG.example:5000/', 'https://reg.example:5000/', true],
    ['another port', 'https://reg:5000/', 'https://reg:5001/', false],
    ['another name of the same machine', 'https://127.0.0.1:5000/', 'https://localhost:5000/', false],
    ['a downgrade to http', 'https://reg:5000/', 'http://reg:5000/', false],
    ['a look-alike host', 'https://reg:5000/', 'https://reg.evil:5000/', false],
  ])('%s -> %s', (_name, a, b, expected) => {
    expect(sameOrigin(new URL(a), new URL(b))).toBe(expected);
  });
});

describe('registryBaseUrl', () => {
  it.each([
    ['host:port', 'reg.example:5000', false, 'https://reg.example:5000'],
    ['an IPv6 host', '[::1]:5000', false, 'https://[::1]:5000'],
    ['plain http for tests', '127.0.0.1:5000', true, 'http://127.0.0.1:5000'],
  ])('accepts %s', (_name, host, plain, origin) => {
    expect(registryBaseUrl(host, plain).origin).toBe(origin);
  });

  it.each([
    ['a scheme', 'https://reg:5000'],
    ['a path', 'reg:5000/ns'],
    ['user info', 'user@reg:5000'],
    ['nothing', ''],
  ])('refuses %s', (_name, host) => {
    expect(() => registryBaseUrl(host)).toThrow(/must be host\[:port\]/);
  });

  it('gives the default port a number in the origin key', () => {
    expect(originKey(new URL('https://reg/'))).toBe('https://reg:443');
  });
});
