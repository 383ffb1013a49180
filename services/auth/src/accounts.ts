import { randomUUID } from 'node:crypto';
import { AppError, cleanDisplayName } from '@ap/protocol';
import type { ParsedRequestOf, ResponseOf, Role } from '@ap/protocol';
import { isDuplicateKey } from '@ap/db';
import type { AuthContext, HandlerTable } from './context.ts';
import { countFailure, displayName } from './context.ts';
import { hashPassword, verifyPassword } from './passwords.ts';
import type { UserDoc } from './store.ts';
import { addressKey, takeAttempts } from './throttle.ts';
import { signToken } from './tokens.ts';

/** What staff accounts do: sign in with a password, be created by an admin; and the public keys that verify tokens. */
export function accountHandlers(ctx: AuthContext): HandlerTable {
  const { clock, config, keyRing, hashGate, log } = ctx;
  const { userByEmail } = ctx.col;
  const { loginPerAccount, loginPerAddress } = ctx.throttles;

  async function login(req: ParsedRequestOf<'authLogin'>): Promise<ResponseOf<'authLogin'>> {
    // Charged before anything is read or hashed, so a throttled account or address costs nothing;
    // given back unless the credentials turn out wrong, so only failures count.
    const address = req.ip === undefined ? undefined : `ip:${addressKey(req.ip)}`;
    const attempt = takeAttempts(
      address === undefined
        ? [[loginPerAccount, req.email]]
        : [
            [loginPerAccount, req.email],
            [loginPerAddress, address],
          ],
      'too many failed sign-ins; try again later',
    );
    return countFailure(attempt, 'AUTH_INVALID', async () => {
      const user = await userByEmail.find(req.email);
      const keys = address === undefined ? [`account:${req.email}`] : [`account:${req.email}`, address];
      // Candidates have no password, so they fail here like an unknown email does.
      const valid = await hashGate.run(keys, () => verifyPassword(req.password, user?.password));
      if (user === null || !valid) {
        log.info({ ip: req.ip }, 'login failed');
        throw new AppError('AUTH_INVALID', 'invalid email or password');
      }
      return issueStaffToken(user);
    });
  }

  async function issueStaffToken(user: UserDoc): Promise<ResponseOf<'authLogin'>> {
    const key = await keyRing.signingKey();
    const issued = await signToken(
      key,
      { userId: user._id, role: user.role, tests: user.tests, name: displayName(user) },
      clock(),
      config.tokenTtlS,
    );
    log.info({ user_id: user._id, role: user.role, kid: key.kid }, 'login');
    return { token: issued.token, expires_at: issued.expiresAt.toISOString(), user_id: user._id, role: user.role };
  }

  async function createUser(req: ParsedRequestOf<'authCreateUser'>): Promise<ResponseOf<'authCreateUser'>> {
    if (req.role === 'candidate') {
      throw new AppError('VALIDATION_FAILED', 'candidates are created by invitations, not with a password');
    }
    const existing = await userByEmail.find(req.email);
    if (existing !== null) return sameUser(existing, req.role);
    const user: UserDoc = {
      _id: randomUUID(),
      email: req.email,
      name: cleanDisplayName(req.name),
      role: req.role,
      password: await hashGate.run([], () => hashPassword(req.password)),
      created_at: clock(),
    };
    if (req.tests !== undefined) user.tests = req.tests;
    try {
      await userByEmail.insert(user);
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
      // A concurrent request created the same email first; answer as if it had come before us.
      const winner = await userByEmail.settle(req.email);
      if (winner === null) throw err;
      return sameUser(winner, req.role);
    }
    log.info({ user_id: user._id, role: user.role, by: req.caller.user_id }, 'user created');
    return { user_id: user._id, created: true };
  }

  async function jwks(): Promise<ResponseOf<'authJwks'>> {
    const keys = await keyRing.publicKeys();
    return { keys: keys.map((k) => ({ ...k })) };
  }

  return { authLogin: login, authCreateUser: createUser, authJwks: jwks };
}

function sameUser(existing: UserDoc, role: Role): ResponseOf<'authCreateUser'> {
  if (existing.role !== role) throw new AppError('CONFLICT', 'a user with this email exists with another role');
  return { user_id: existing._id, created: false };
}
