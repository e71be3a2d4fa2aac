import { parseChallenges } from './auth.js';

describe('parseChallenges', () => {
  it.each([
    ['distribution htpasswd', 'Basic realm="stack-registry"', [{ scheme: 'basic', params: { realm: 'stack-registry' } }]],
    ['a token realm with service and scope',
      'Bearer realm="https://auth.example/token",service="registry.example",scope="repository:ns/app:pull,push"',
      [{ scheme: 'bearer', params: { realm: 'https://auth.example/token', service: 'registry.example', scope: 'repository:ns/app:pull,push' } }]],
    ['two challenges in one header', 'Bearer realm="https://r/t", Basic realm="x"',
      [{ scheme: 'bearer', params: { realm: 'https://r/t' } }, { scheme: 'basic', params: { realm: 'x' } }]],
    ['two headers', ['Basic realm="a"', 'Bearer realm="https://r/t"'],
      [{ scheme: 'basic', params: { realm: 'a' } }, { scheme: 'bearer', params: { realm: 'https://r/t' } }]],
    ['unquoted values and odd spacing', 'Bearer  realm = https://r/t , service=svc',
      [{ scheme: 'bearer', params: { realm: 'https://r/t', service: 'svc' } }]],
    ['escaped quotes', 'Basic realm="say \\"hi\\""', [{ scheme: 'basic', params: { realm: 'say "hi"' } }]],
    ['nothing', undefined, []],
  ])('%s', (_name, header, expected) => {
    expect(parseChallenges(header)).toEqual(expected);
  });
});
