import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_CHAT_CHARS } from '@ap/protocol';
import { normalizeChatText } from './text.ts';

test('control characters other than newline and tab are stripped, then the text is trimmed', () => {
  assert.equal(normalizeChatText('\u0000 he\u0007l\u001bl\u007fo\r\n\tworld\u0085\u202e \u0000'), 'hello\n\tworld');
});

test('markup is kept verbatim as plain text', () => {
  assert.equal(normalizeChatText('<script>alert(1)</script> & "x"'), '<script>alert(1)</script> & "x"');
});

test('emoji sequences survive and count as code points', () => {
  const family = '👩\u200d👩\u200d👧';
  assert.equal(normalizeChatText(family), family);
  assert.equal(normalizeChatText('😀'.repeat(MAX_CHAT_CHARS)).length, MAX_CHAT_CHARS * 2);
});

test('lone surrogates become replacement characters', () => {
  assert.equal(normalizeChatText('a\ud800b'), 'a\ufffdb');
});

test('empty after stripping is VALIDATION_FAILED', () => {
  assert.throws(() => normalizeChatText(' \u0000\r\n\t\u0007 '), { code: 'VALIDATION_FAILED' });
});

test('longer than MAX_CHAT_CHARS is VALIDATION_FAILED; exactly the maximum is accepted', () => {
  assert.equal(normalizeChatText('x'.repeat(MAX_CHAT_CHARS)).length, MAX_CHAT_CHARS);
  assert.throws(() => normalizeChatText('x'.repeat(MAX_CHAT_CHARS + 1)), { code: 'VALIDATION_FAILED' });
  // Surrounding whitespace does not count.
  assert.equal(normalizeChatText(`  ${'x'.repeat(MAX_CHAT_CHARS)}  `).length, MAX_CHAT_CHARS);
});

test('each refusal names the field, and the length refusal the maximum', () => {
  assert.throws(() => normalizeChatText(' \u0007 '), {
    code: 'VALIDATION_FAILED',
    message: 'message is empty',
    details: { field: 'message' },
  });
  assert.throws(() => normalizeChatText('abcd', 3), {
    code: 'VALIDATION_FAILED',
    message: 'message is longer than 3 characters',
    details: { field: 'message', max_chars: 3 },
  });
  assert.equal(normalizeChatText('abc', 3), 'abc');
});
