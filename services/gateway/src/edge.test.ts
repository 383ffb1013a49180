import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isAppError } from '@ap/protocol';
import { createOriginPolicy, decodePathSegment, normalizeOrigin, parseRequestTarget } from './edge.ts';

const validationFailed = (err: unknown) => isAppError(err) && err.code === 'VALIDATION_FAILED';

describe('request targets', () => {
  test('origin-form paths parse', () => {
    assert.equal(parseRequestTarget('/ws/assessment?test_id=t1').pathname, '/ws/assessment');
    assert.equal(parseRequestTarget('/ws/assessment?test_id=t1').searchParams.get('test_id'), 't1');
    assert.equal(parseRequestTarget('/a/%zz').pathname, '/a/%zz', 'percent-encoding is decoded later, per segment');
  });

  test('anything else is VALIDATION_FAILED, never a TypeError', () => {
    for (const target of [
      undefined,
      '',
      '*',
      '//evil.com/ws/assessment',
      'http://x/ws/assessment',
      'ws/assessment',
      '//',
      '///',
      '/\\evil.com',
      'http://[',
    ]) {
      assert.throws(() => parseRequestTarget(target), validationFailed, String(target));
    }
  });

  test('bad percent-encoding is VALIDATION_FAILED', () => {
    assert.equal(decodePathSegment('a%20b'), 'a b');
    assert.throws(() => decodePathSegment('%E0%A4%A'), validationFailed);
    assert.throws(() => decodePathSegment('%'), validationFailed);
  });
});

describe('origin policy', () => {
  test('no Origin, the same origin, listed origins and (in development) loopback pages are allowed', () => {
    const dev = createOriginPolicy({ allowed: ['https://exam.example.com/'], allowLoopback: true });
    assert.equal(dev(undefined, 'gw.example.com'), true);
    assert.equal(dev('https://gw.example.com', 'gw.example.com'), true);
    assert.equal(dev('https://gw.example.com', 'gw.example.com:443'), true);
    assert.equal(dev('http://127.0.0.1:9999', 'gw.example.com'), true);
    assert.equal(dev('http://localhost:5173', 'gw.example.com'), true);
    assert.equal(dev('https://exam.example.com', 'gw.example.com'), true);
    assert.equal(dev('https://evil.example', 'gw.example.com'), false);
    assert.equal(dev('https://gw.example.com.evil.example', 'gw.example.com'), false);
    assert.equal(dev('null', 'gw.example.com'), false);
    assert.equal(dev('file://', 'gw.example.com'), false);
    const prod = createOriginPolicy({ allowed: [], allowLoopback: false });
    assert.equal(prod('http://localhost:5173', 'gw.example.com'), false);
    assert.equal(prod('http://localhost:8080', 'localhost:8080'), true);
    assert.equal(createOriginPolicy({ allowed: ['*'], allowLoopback: false })('https://any.example', 'gw'), true);
  });

  test('configured origins are scheme, host and port only', () => {
    assert.equal(normalizeOrigin('https://Exam.Example.com:443'), 'https://exam.example.com');
    assert.equal(normalizeOrigin('https://exam.example.com/path'), undefined);
    assert.equal(normalizeOrigin('exam.example.com'), undefined);
  });
});
