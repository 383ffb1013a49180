import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CODE_BITS, generateInvitationCode, hashCode, normaliseCode } from './codes.ts';

test('a generated code has at least 60 bits of entropy, from unambiguous characters', () => {
  assert.ok(CODE_BITS >= 60, `only ${CODE_BITS.toFixed(1)} bits`);
  const codes = new Set<string>();
  for (let i = 0; i < 2000; i++) {
    const code = generateInvitationCode();
    assert.match(code, /^[A-HJKMNP-Z2-9]{4}(-[A-HJKMNP-Z2-9]{4}){3}$/);
    codes.add(code);
  }
  assert.equal(codes.size, 2000);
  // Measured, not only computed: every character of the alphabet shows up in every position.
  const perPosition = Array.from({ length: 16 }, () => new Set<string>());
  for (const code of codes) {
    const chars = normaliseCode(code);
    for (let i = 0; i < chars.length; i++) perPosition[i]?.add(chars.charAt(i));
  }
  const bits = perPosition.reduce((sum, seen) => sum + Math.log2(seen.size), 0);
  assert.ok(bits >= 60, `${bits.toFixed(1)} bits observed`);
});

test('codes compare in canonical form', () => {
  assert.equal(hashCode(' abcd efgh-jkmn pqrs '), hashCode('ABCD-EFGH-JKMN-PQRS'));
});
