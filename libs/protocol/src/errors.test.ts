import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AppError, ERROR_CODES, HTTP_STATUS, isAppError } from './errors.ts';

test('an AppError carries its code, details and cause, and is named for logs', () => {
  const cause = new Error('socket closed');
  const err = new AppError('SERVICE_UNAVAILABLE', 'database unavailable', { cause, details: { retry_after_ms: 500 } });
  assert.equal(err.name, 'AppError');
  assert.equal(err.code, 'SERVICE_UNAVAILABLE');
  assert.equal(err.message, 'database unavailable');
  assert.deepEqual(err.details, { retry_after_ms: 500 });
  assert.equal(err.cause, cause);
  assert.ok(err instanceof Error);
  assert.equal(new AppError('NOT_FOUND', 'no such test').details, undefined);
});

test('isAppError recognises an AppError from another copy of the package, and nothing else', () => {
  // What an AppError from a second copy of @ap/protocol looks like: another class, same shape.
  const foreign = Object.assign(new Error('x'), { name: 'AppError', code: 'CONFLICT' });
  assert.ok(isAppError(new AppError('CONFLICT', 'x')));
  assert.ok(isAppError(foreign));
  assert.equal(isAppError(Object.assign(new Error('x'), { code: 'CONFLICT' })), false, 'another error with a code');
  assert.equal(isAppError(Object.assign(new Error('x'), { name: 'AppError' })), false, 'no code');
  assert.equal(isAppError({ name: 'AppError', code: 'CONFLICT', message: 'x' }), false, 'not an Error');
  assert.equal(isAppError(undefined), false);
});

test("every code has an HTTP status: client errors 4xx, the platform's own failures 5xx", () => {
  assert.deepEqual(Object.keys(HTTP_STATUS).sort(), [...ERROR_CODES].sort());
  const serverSide = new Set(['SERVICE_UNAVAILABLE', 'TIMEOUT', 'INTERNAL']);
  for (const code of ERROR_CODES) {
    const status = HTTP_STATUS[code];
    assert.ok(serverSide.has(code) ? status >= 500 && status < 600 : status >= 400 && status < 500, `${code}: ${String(status)}`);
  }
  // The statuses the HTTP API documents for the codes a client acts on.
  assert.deepEqual(
    [
      HTTP_STATUS.AUTH_INVALID,
      HTTP_STATUS.FORBIDDEN,
      HTTP_STATUS.NOT_FOUND,
      HTTP_STATUS.RATE_LIMITED,
      HTTP_STATUS.INVITATION_EXPIRED,
      HTTP_STATUS.SERVICE_UNAVAILABLE,
      HTTP_STATUS.TIMEOUT,
    ],
    [401, 403, 404, 429, 410, 503, 504],
  );
});
