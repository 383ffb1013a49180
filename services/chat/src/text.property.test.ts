import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { isAppError } from '@ap/protocol';
import { normalizeChatText } from './text.ts';

const unit = fc.oneof(
  fc.constantFrom('\u0000', '\u0007', '\t', '\n', '\r', '\u001b', '\u007f', '\u0085', '\u009f', ' ', '\u3000'),
  fc.constantFrom('\u202a', '\u202e', '\u2066', '\u2069', '\ud800', '\udfff', '😀', 'é', 'a'),
  fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)),
);
const messy = fc.string({ unit, maxLength: 40 });
const UNWANTED = /[\p{Cc}\u202A-\u202E\u2066-\u2069]/u;

test('normalized chat text is idempotent, trimmed, well formed and free of control and bidi characters', () => {
  let kept = 0;
  fc.assert(
    fc.property(messy, (raw) => {
      let text: string;
      try {
        text = normalizeChatText(raw);
      } catch (err) {
        // Only a message with nothing visible left is refused at this length.
        assert.ok(isAppError(err) && err.code === 'VALIDATION_FAILED');
        assert.equal(
          raw
            .toWellFormed()
            .replace(/[\p{Cc}\u202A-\u202E\u2066-\u2069]/gu, '')
            .trim(),
          '',
        );
        return;
      }
      kept += 1;
      assert.equal(normalizeChatText(text), text);
      assert.equal(text, text.trim());
      assert.ok(text.isWellFormed());
      assert.ok(!Array.from(text).some((ch) => ch !== '\t' && ch !== '\n' && UNWANTED.test(ch)), JSON.stringify(text));
    }),
    { numRuns: 3000 },
  );
  assert.ok(kept > 1000, `most generated messages have visible text (${kept})`);
});

test('the length limit counts code points: n accepted, n + 1 refused', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 50 }), fc.constantFrom('a', '😀', 'é', '\u4e00'), (max, ch) => {
      assert.equal(normalizeChatText(ch.repeat(max), max), ch.repeat(max));
      assert.throws(
        () => normalizeChatText(ch.repeat(max + 1), max),
        (err: unknown) => isAppError(err) && err.code === 'VALIDATION_FAILED',
      );
    }),
  );
});
