import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

/** A stored password: scrypt parameters and the derived key, never the password itself. */
export type PasswordHash = { algo: 'scrypt'; salt: string; N: number; r: number; p: number; hash: string };

// OWASP's minimum for scrypt; the parameters are stored with each hash so they can be raised later.
const COST = { N: 16384, r: 8, p: 1 } as const;
const SALT_BYTES = 16;
const KEY_BYTES = 32;
// Hashes the password of an unknown user against this so that a wrong email costs as much as a wrong password.
const DECOY: PasswordHash = { algo: 'scrypt', salt: 'AAAAAAAAAAAAAAAAAAAAAA==', ...COST, hash: Buffer.alloc(KEY_BYTES).toString('base64') };

function derive(password: string, salt: Buffer, cost: { N: number; r: number; p: number }, length: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    // Node's default maxmem (32 MiB) is exactly 2x what N=16384, r=8 needs; scale it with stored parameters.
    const maxmem = 256 * cost.N * cost.r;
    // NFKC so that the same password typed on different keyboards or platforms derives the same key.
    scrypt(password.normalize('NFKC'), salt, length, { ...cost, maxmem }, (err, key) => {
      if (err) reject(err);
      else resolve(key);
    });
  });
}

/** Derives a scrypt hash of a password with a fresh random salt. */
export async function hashPassword(password: string): Promise<PasswordHash> {
  const salt = randomBytes(SALT_BYTES);
  const key = await derive(password, salt, COST, KEY_BYTES);
  return { algo: 'scrypt', salt: salt.toString('base64'), ...COST, hash: key.toString('base64') };
}

/**
 * Whether a password matches a stored hash, compared in constant time. Without a stored hash it
 * still does the same work and returns false, so timing does not reveal which emails exist.
 */
export async function verifyPassword(password: string, stored: PasswordHash | undefined): Promise<boolean> {
  const target = stored?.algo === 'scrypt' ? stored : DECOY;
  const expected = Buffer.from(target.hash, 'base64');
  const actual = await derive(password, Buffer.from(target.salt, 'base64'), target, expected.length);
  return timingSafeEqual(actual, expected) && target !== DECOY;
}
