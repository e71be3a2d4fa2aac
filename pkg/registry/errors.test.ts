import { Readable } from 'node:stream';
import type { IncomingMessage } from 'node:http';
import { describeErrorBody, responseError } from './errors.js';
import { mapNetworkError } from './transport.js';
import { nextLink } from './client.js';
import { StalledError, TransientError } from '../errors.js';

function response(status: number, body: string): IncomingMessage {
  return Object.assign(Readable.from([Buffer.from(body)]), { statusCode: status, headers: {} }) as unknown as IncomingMessage;
}
const ociError = (code: string, message: string) => JSON.stringify({ errors: [{ code, message, detail: {} }] });
const ctx = { host: 'reg:5000', what: 'pushing blob x to ns/app', redact: (t: string) => t.split('s3cret').join('***') };

describe('responseError', () => {
  it.each([
    [401, ociError('UNAUTHORIZED', 'authentication required'), StalledError, 'RegistryUnauthorized'],
    [403, ociError('DENIED', 'requested access to the resource is denied'), StalledError, 'RegistryUnauthorized'],
    [404, ociError('MANIFEST_UNKNOWN', 'manifest unknown'), StalledError, 'ManifestNotFound'],
    [404, ociError('BLOB_UNKNOWN', 'blob unknown to registry'), StalledError, 'BlobNotFound'],
    [404, ociError('NAME_UNKNOWN', 'repository name not known to registry'), StalledError, 'RepositoryNotFound'],
    [400, ociError('DIGEST_INVALID', 'provided digest did not match uploaded content'), StalledError, 'RegistryRejected'],
    [429, ociError('TOOMANYREQUESTS', 'slow down'), TransientError, 'RegistryUnavailable'],
    [503, '<html>bad gateway</html>', TransientError, 'RegistryUnavailable'],
  ])('HTTP %d %s -> %p %s', async (status, body, errorClass, reason) => {
    const error = await responseError(response(status, body), ctx);
    expect(error).toBeInstanceOf(errorClass);
    expect(error.reason).toBe(reason);
    expect(error.message).toContain(`registry reg:5000 answered HTTP ${status} to pushing blob x to ns/app`);
  });

  it('quotes the OCI error codes and messages', async () => {
    const error = await responseError(response(400, ociError('DIGEST_INVALID', 'provided digest did not match')), ctx);
    expect(error.message).toContain('(DIGEST_INVALID: provided digest did not match)');
  });

  it('redacts a secret the server echoed back', async () => {
    const error = await responseError(response(401, ociError('UNAUTHORIZED', 'bad password s3cret')), ctx);
    expect(error.message).not.toContain('s3cret');
    expect(error.message).toContain('bad password ***');
  });
});

describe('describeErrorBody', () => {
  it.each([
    ['several errors', JSON.stringify({ errors: [{ code: 'A', message: 'one' }, { code: 'B' }] }), 'A: one; B'],
    ['a non-JSON body, squeezed', 'upstream\n\n  timed out', 'upstream timed out'],
    ['an empty body', '', ''],
  ])('%s', (_name, body, expected) => {
    expect(describeErrorBody(Buffer.from(body))).toBe(expected);
  });
});

describe('mapNetworkError', () => {
  const err = (code: string) => Object.assign(new Error(`boom ${code}`), { code });
  it.each([
    ['ECONNREFUSED', TransientError, 'RegistryUnavailable', /cannot reach reg:5000: ECONNREFUSED/],
    ['ETIMEDOUT', TransientError, 'RegistryUnavailable', /cannot reach reg:5000/],
    ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', StalledError, 'RegistryTLS', /set the registry CA file/],
    ['SELF_SIGNED_CERT_IN_CHAIN', StalledError, 'RegistryTLS', /REGISTRY_CA_FILE/],
    ['ERR_TLS_CERT_ALTNAME_INVALID', StalledError, 'RegistryTLS', /TLS verification of reg:5000 failed/],
  ])('%s -> %p %s', (code, errorClass, reason, message) => {
    const mapped = mapNetworkError(err(code), 'reg:5000');
    expect(mapped).toBeInstanceOf(errorClass);
    expect((mapped as StalledError).reason).toBe(reason);
    expect(mapped.message).toMatch(message);
  });
});

describe('nextLink', () => {
  const current = new URL('https://reg:5000/v2/ns/app/tags/list?n=2');
  it.each([
    ['a relative next page', '</v2/ns/app/tags/list?last=b&n=2>; rel="next"', 'https://reg:5000/v2/ns/app/tags/list?last=b&n=2'],
    ['an unquoted rel', '</v2/ns/app/tags/list?last=b>; rel=next', 'https://reg:5000/v2/ns/app/tags/list?last=b'],
    ['only a prev link', '</v2/ns/app/tags/list?n=2>; rel="prev"', undefined],
    ['no header', undefined, undefined],
  ])('%s', (_name, header, expected) => {
    expect(nextLink(header, current)?.href).toBe(expected);
  });
});
