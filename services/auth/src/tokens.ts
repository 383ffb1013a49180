import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import { TOKEN_AUDIENCE, TOKEN_ISSUER, cleanDisplayName } from '@ap/protocol';
import type { Accommodations, Role } from '@ap/protocol';
import type { SigningKey } from './keys.ts';

/** What a token says about its subject. */
export type TokenSubject = {
  userId: string;
  role: Role;
  tests?: readonly string[] | undefined;
  applicationId?: string | undefined;
  name?: string | undefined;
  /** A candidate signing in again with a named code (not its first redemption). */
  reSignIn?: boolean | undefined;
  /** A candidate's time accommodations, from its invitation. */
  accommodations?: Accommodations | undefined;
};

/** A signed token and when it expires. */
export type IssuedToken = { token: string; expiresAt: Date };

/** Signs an access token for `ttlS` seconds from `now`. */
export async function signToken(key: SigningKey, subject: TokenSubject, now: Date, ttlS: number): Promise<IssuedToken> {
  const iat = Math.floor(now.getTime() / 1000);
  const exp = iat + ttlS;
  const claims: Record<string, unknown> = { role: subject.role };
  if (subject.tests !== undefined) claims['tests'] = [...subject.tests];
  if (subject.applicationId !== undefined) claims['app'] = subject.applicationId;
  // Names stored before names were cleaned at input are cleaned here too.
  const name = cleanDisplayName(subject.name ?? '');
  if (name.length > 0) claims['name'] = name.slice(0, 254);
  if (subject.reSignIn === true) claims['re_sign_in'] = true;
  if (subject.accommodations !== undefined) claims['accommodations'] = { ...subject.accommodations };
  const token = await new SignJWT(claims)
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT' })
    .setIssuer(TOKEN_ISSUER)
    .setAudience(TOKEN_AUDIENCE)
    .setSubject(subject.userId)
    .setIssuedAt(iat)
    .setNotBefore(iat)
    .setExpirationTime(exp)
    .setJti(randomUUID())
    .sign(key.privateKey);
  return { token, expiresAt: new Date(exp * 1000) };
}
