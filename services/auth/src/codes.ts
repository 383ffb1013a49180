import { createHash, randomInt } from 'node:crypto';

// No 0/O, 1/I/L: codes are read aloud and typed from paper.
const ALPHABET = 'ABCDEFGHJKMNPQRSTUVWXYZ23456789';
const CODE_LENGTH = 16;
const GROUP = 4;
/** Bits of entropy of a generated code: 16 characters of 31, about 79 bits (at least 60 are required). */
export const CODE_BITS = CODE_LENGTH * Math.log2(ALPHABET.length);
/** The shortest code (after normalisation) accepted when an inviter supplies its own. */
export const MIN_CODE_LENGTH = 12;

/** A random invitation code of 16 unambiguous characters, grouped for reading: `ABCD-EFGH-JKMN-PQRS`. */
export function generateInvitationCode(): string {
  let raw = '';
  for (let i = 0; i < CODE_LENGTH; i++) raw += ALPHABET.charAt(randomInt(ALPHABET.length));
  const groups: string[] = [];
  for (let i = 0; i < CODE_LENGTH; i += GROUP) groups.push(raw.slice(i, i + GROUP));
  return groups.join('-');
}

/**
 * The canonical form of a code: trimmed, upper-case, without the dashes and spaces that group it,
 * so `abcd efgh jkmn pqrs` and `ABCD-EFGH-JKMN-PQRS` are the same code.
 */
export function normaliseCode(code: string): string {
  return code
    .trim()
    .toUpperCase()
    .replace(/[\s-]+/g, '');
}

/** SHA-256 (hex) of the canonical code: what is stored and looked up instead of the code. */
export function hashCode(code: string): string {
  return createHash('sha256').update(normaliseCode(code)).digest('hex');
}
