import { apiErrorMessage, httpStatus, isConflict, isNotFound } from './errors.js';

// The shape client-node 1.x throws: an ApiException whose body is the Status, as a string or parsed.
const apiError = (code: number, body: unknown) => Object.assign(new Error(`HTTP-Code: ${code}\nMessage: ...\nBody: ...\nHeaders: {"audit-id":"x"}`), { code, body });

describe('API errors', () => {
  it.each([
    { name: 'a Status body given as a string', err: apiError(404, JSON.stringify({ kind: 'Status', message: 'secrets "x" not found' })), status: 404, message: 'HTTP 404: secrets "x" not found' },
    { name: 'a parsed Status body', err: apiError(409, { message: 'the object has been modified' }), status: 409, message: 'HTTP 409: the object has been modified' },
    { name: 'a body that is not a Status', err: apiError(503, 'upstream connect error'), status: 503, message: 'HTTP 503' },
    { name: 'a watch error (statusCode)', err: Object.assign(new Error('Gone'), { statusCode: 410 }), status: 410, message: 'HTTP 410' },
    { name: 'a socket error', err: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), status: undefined, message: 'connect ECONNREFUSED' },
  ])('reads $name', ({ err, status, message }) => {
    expect(httpStatus(err)).toBe(status);
    expect(apiErrorMessage(err)).toBe(message);
    expect(isNotFound(err)).toBe(status === 404);
    expect(isConflict(err)).toBe(status === 409);
  });
});
