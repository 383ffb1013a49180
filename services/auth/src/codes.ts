import { createHash, randomInt } from 'node:crypto';

// No 0/O, 1/I/L: codes are read aloud and typed from paper.
const ALPHABET = 'ABCDEFGHJKMNPQRSTUVWXYZ23456789';
const CODE_LENGTH = 10;
/** The shortest code (after normalisation) accepted when an inviter supplies its own. */
export const MIN_CODE_LENGTH = 6;

/** A random invitation code of 10 unambiguous characters, grouped for reading: `ABCD-EFGH-JK`. */
export function generateInvitationCode(): string {
  let raw = '';
  for (let i = 0; i < CODE_LENGTH; i++) raw += ALPHABET.charAt(randomInt(ALPHABET.length));
  return `${raw.slice(0, 4)}-${raw.slice(4, 8)}-${raw.slice(8)}`;
}

/**
 * The canonical form of a code: trimmed, upper-case, without the dashes and spaces that group it,
 * so `abcd efgh jk` and `ABCD-EFGH-JK` are the same code.
 */
export function normaliseCode(code: string): string {
  return code.trim().toUpperCase().replace(/[\s-]+/g, '');
}

/** SHA-256 (hex) of the canonical code: what is stored and looked up instead of the code. */
export function hashCode(code: string): string {
  return createHash('sha256').update(normaliseCode(code)).digest('hex');
}
