import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { cleanDisplayName, stripUnsafeText } from './text.ts';

// Strings rich in what the cleaning is about: C0/C1 controls, DEL, bidi marks, whitespace, lone
// surrogates and astral characters, mixed with arbitrary UTF-16 code units.
const unit = fc.oneof(
  fc.constantFrom('\u0000', '\u0007', '\t', '\n', '\r', '\u001f', '\u007f', '\u0085', '\u009f', '\u00a0', ' '),
  fc.constantFrom('\u202a', '\u202d', '\u202e', '\u2066', '\u2069', '\u200e', '\u200f', '\u2029'),
  fc.constantFrom('\ud800', '\udfff', '😀', '👩\u200d👧', 'é', 'a', 'Z'),
  fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)),
);
const messyText = fc.string({ unit, maxLength: 60 });

/** The characters that must never survive: C0 and C1 controls except tab and newline, DEL, bidi embeddings/overrides/isolates. */
const UNWANTED = /[\p{Cc}\u202A-\u202E\u2066-\u2069]/u;
function unwanted(ch: string): boolean {
  return ch !== '\t' && ch !== '\n' && UNWANTED.test(ch);
}

test('stripUnsafeText removes exactly the unwanted characters of the well-formed text', () => {
  fc.assert(
    fc.property(messyText, (raw) => {
      const expected = Array.from(raw.toWellFormed())
        .filter((ch) => !unwanted(ch))
        .join('');
      assert.equal(stripUnsafeText(raw), expected);
    }),
    { numRuns: 3000 },
  );
});

test('stripUnsafeText is idempotent and leaves well-formed text with no unwanted character', () => {
  fc.assert(
    fc.property(messyText, (raw) => {
      const once = stripUnsafeText(raw);
      assert.equal(stripUnsafeText(once), once);
      assert.ok(once.isWellFormed());
      assert.ok(!Array.from(once).some(unwanted), JSON.stringify(once));
    }),
    { numRuns: 3000 },
  );
});

test('a display name is idempotent, trimmed, on one line, with single spaces', () => {
  fc.assert(
    fc.property(messyText, (raw) => {
      const name = cleanDisplayName(raw);
      assert.equal(cleanDisplayName(name), name);
      assert.equal(name, name.trim());
      assert.ok(!/\s\s|[\t\n\r]/u.test(name), JSON.stringify(name));
      assert.ok(!Array.from(name).some(unwanted));
      // Nothing but whitespace and unwanted characters is removed.
      const visible = (s: string) =>
        Array.from(s.toWellFormed())
          .filter((ch) => !unwanted(ch) && !/\s/u.test(ch))
          .join('');
      assert.equal(visible(name), visible(raw));
    }),
    { numRuns: 3000 },
  );
});
