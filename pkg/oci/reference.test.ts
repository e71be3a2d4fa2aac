import { isRepositoryName, parseReference } from './reference.js';
import { StalledError } from '../errors.js';

const digest = `sha256:${'0123456789abcdef'.repeat(4)}`;

describe('parseReference: accepted', () => {
  it.each([
    ['the internal registry service', `image-registry.openshift-image-registry.svc:5000/openshift/apicast@${digest}`,
      { host: 'image-registry.openshift-image-registry.svc:5000', repository: 'openshift/apicast', digest }],
    ['an IP and port', `127.0.0.1:5000/ns/name@${digest}`, { host: '127.0.0.1:5000', repository: 'ns/name', digest }],
    ['an IPv6 host', `[::1]:5000/ns/name@${digest}`, { host: '[::1]:5000', repository: 'ns/name', digest }],
    ['localhost without port', `localhost/ns/name@${digest}`, { host: 'localhost', repository: 'ns/name', digest }],
    ['a tag next to the digest', `quay.io/ns/name:v1@${digest}`, { host: 'quay.io', repository: 'ns/name', digest, tag: 'v1' }],
    ['a deep path', `reg.example.com/a/b/c-d_e.f@${digest}`, { host: 'reg.example.com', repository: 'a/b/c-d_e.f', digest }],
  ])('%s', (_name, ref, expected) => {
    expect(parseReference(ref)).toEqual(expected);
  });
});

describe('parseReference: refused', () => {
  it.each([
    ['a tag', 'image-registry.openshift-image-registry.svc:5000/openshift/apicast:latest', /must be a digest reference \(\.\.\.@sha256:<64 hex>\), got a tag/],
    ['a name without a digest', 'quay.io/ns/name', /must be a digest reference.*got a name without a digest/],
    ['a short digest', 'quay.io/ns/name@sha256:abc', /must be a digest reference.*got digest "sha256:abc"/],
    ['another algorithm', `quay.io/ns/name@sha512:${'a'.repeat(128)}`, /must be a digest reference/],
    ['no registry host', `openshift/apicast@${digest}`, /must start with the registry host/],
    ['no path at all', `apicast@${digest}`, /must start with the registry host/],
    ['upper-case repository', `quay.io/NS/name@${digest}`, /invalid repository name "NS\/name"/],
    ['a path escape', `quay.io/ns/../name@${digest}`, /invalid repository name/],
  ])('%s', (_name, ref, message) => {
    let error: unknown;
    try {
      parseReference(ref);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(StalledError);
    expect((error as StalledError).reason).toBe('InvalidReference');
    expect((error as Error).message).toMatch(message);
  });
});

describe('isRepositoryName', () => {
  it.each([
    ['ns/name', true],
    ['a__b/c--d', true],
    ['ns//name', false],
    ['-ns/name', false],
    ['ns/name/', false],
    ['ns/Name', false],
  ])('%s -> %s', (name, expected) => {
    expect(isRepositoryName(name)).toBe(expected);
  });
});
