import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cleanDisplayName, stripUnsafeText } from './text.ts';

test('controls, DEL, C1 and bidi overrides are stripped; tab and newline stay', () => {
  assert.equal(stripUnsafeText('\u0000a\u0007b\u001b\u007fc\u0085\r\n\td\u202ee\u2066f\u2069'), 'abc\n\tdef');
});

test('lone surrogates become replacement characters; text without unwanted characters is returned as is', () => {
  assert.equal(stripUnsafeText('a\ud800b'), 'a\ufffdb');
  const clean = 'Zoë 👩\u200d👩\u200d👧 <b>';
  assert.equal(stripUnsafeText(clean), clean);
});

test('a display name loses bidi overrides and controls, and its whitespace becomes single spaces', () => {
  assert.equal(cleanDisplayName(' Ada\u202e \u0000Lovelace\r\n\tgpj.exe\u202c '), 'Ada Lovelace gpj.exe');
  assert.equal(cleanDisplayName('\u202e\u0007 \n'), '');
});
