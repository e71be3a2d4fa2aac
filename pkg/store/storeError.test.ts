import { StalledError, TransientError, WaitingError } from '../errors.js';
import { isNotFound, storeError } from './storeError.js';

const ctx = { bucket: 'b', endpoint: 'https://s3.example', region: 'us-east-1' };
const s3 = (name: string, status: number, extra: object = {}) => Object.assign(new Error(`server says ${name}`), { name, $metadata: { httpStatusCode: status }, ...extra });
const socket = (code: string) => Object.assign(new Error(`socket ${code}`), { code });

describe('storeError', () => {
  test.each<[string, unknown, typeof StalledError | typeof TransientError, string, RegExp]>([
    ['an untrusted certificate', socket('UNABLE_TO_VERIFY_LEAF_SIGNATURE'), StalledError, 'TLSVerificationFailed', /objectStorage\.caCert/],
    ['a self-signed certificate, wrapped by the SDK', Object.assign(new Error('x'), { cause: socket('SELF_SIGNED_CERT_IN_CHAIN') }), StalledError, 'TLSVerificationFailed', /caCert/],
    ['a host name the certificate does not name', socket('ERR_TLS_CERT_ALTNAME_INVALID'), StalledError, 'TLSVerificationFailed', /cannot be verified/],
    ['TLS spoken to a plain HTTP port', socket('EPROTO'), StalledError, 'TLSHandshakeFailed', /s3Url/],
    ['a refused connection', socket('ECONNREFUSED'), TransientError, 'StorageUnreachable', /cannot reach https:\/\/s3\.example/],
    ['an unknown access key', s3('InvalidAccessKeyId', 403), StalledError, 'InvalidCredentials', /access key id is not known/],
    ['a wrong secret key', s3('SignatureDoesNotMatch', 403), StalledError, 'InvalidCredentials', /secret access key does not match/],
    ['an expired session token', s3('ExpiredToken', 400), StalledError, 'InvalidCredentials', /session token/],
    ['a missing bucket', s3('NoSuchBucket', 404), StalledError, 'BucketNotFound', /bucket "b" at https:\/\/s3\.example does not exist/],
    ['a redirect to the bucket\'s region', s3('PermanentRedirect', 301, { $response: { headers: { 'x-amz-bucket-region': 'eu-west-3' } } }), StalledError, 'WrongRegion', /set config\.region to "eu-west-3"/],
    ['a region named in the error', s3('AuthorizationHeaderMalformed', 400, { Region: 'ap-south-1' }), StalledError, 'WrongRegion', /"ap-south-1"/],
    ['a region only in the message', Object.assign(s3('AuthorizationHeaderMalformed', 400), { message: "the region 'us-east-1' is wrong; expecting 'eu-central-1'" }), StalledError, 'WrongRegion', /"eu-central-1"/],
    ['a HEAD answered 301 with no body', s3('301', 301), StalledError, 'WrongRegion', /check config\.region/],
    ['access denied', s3('AccessDenied', 403), StalledError, 'AccessDenied', /s3:PutObject/],
    ['throttling', s3('SlowDown', 503), TransientError, 'StorageUnavailable', /will retry/],
    ['a server error', s3('InternalError', 500), TransientError, 'StorageUnavailable', /will retry/],
  ])('%s', (_name, err, kind, reason, message) => {
    const out = storeError(err, 'listing x', ctx);
    expect(out).toBeInstanceOf(kind);
    expect(out).toMatchObject({ reason, message: expect.stringMatching(message) });
    expect(out.message.startsWith('listing x: ')).toBe(true);
    expect((out as { cause?: unknown }).cause).toBe(err);
  });

  test('errors that already say what to do pass unchanged', () => {
    const waiting = new WaitingError('BundleNotFound', 'later');
    expect(storeError(waiting, 'x', ctx)).toBe(waiting);
    const abort = Object.assign(new Error('aborted'), { name: 'AbortError' });
    expect(storeError(abort, 'x', ctx)).toBe(abort);
  });

  test.each([
    [s3('NoSuchKey', 404), true],
    [s3('NotFound', 404), true],
    [s3('AccessDenied', 403), false],
    [socket('ECONNRESET'), false],
  ])('isNotFound(%p) is %p', (err, expected) => {
    expect(isNotFound(err)).toBe(expected);
  });
});
