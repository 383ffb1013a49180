import { createLocalJWKSet, jwtVerify } from 'jose';
import type { Bus } from '@ap/bus';
import type { Logger } from '@ap/logging';
import { AppError, TOKEN_AUDIENCE, TOKEN_ISSUER, isAppError, tokenClaimsSchema } from '@ap/protocol';
import type { Caller, TokenClaims } from '@ap/protocol';

/** The algorithms the auth service signs with; anything else (including `none`) is refused. */
const ALGORITHMS = ['EdDSA', 'ES256'];
const MIN_REFRESH_INTERVAL_MS = 5000;

/** A verified token: who is calling and until when. */
export type Identity = { caller: Caller; claims: TokenClaims; expiresAt: Date };

export type TokenVerifier = {
  /** Verifies a JWT locally against the auth service's JWKS; throws AppError AUTH_INVALID. */
  verify(token: string): Promise<Identity>;
  /** Loads the JWKS now; true when it has keys. */
  refresh(): Promise<boolean>;
  ready(): boolean;
};

/** Creates a verifier that keeps the JWKS from `auth.v1.jwks` and reloads it when it meets an unknown key id. */
export function createTokenVerifier(deps: { bus: Bus; log: Logger; clock?: () => Date }): TokenVerifier {
  const log = deps.log.child({ module: 'tokens' });
  const clock = deps.clock ?? (() => new Date());
  let keySet: ReturnType<typeof createLocalJWKSet> | undefined;
  let kids = new Set<string>();
  let lastRefresh = 0;
  let inflight: Promise<boolean> | undefined;
  let waitingReported = false;

  async function load(): Promise<boolean> {
    try {
      const jwks = await deps.bus.request('authJwks', {}, { timeoutMs: 3000 });
      keySet = createLocalJWKSet(jwks);
      kids = new Set(jwks.keys.map((k) => String(k['kid'])));
      lastRefresh = Date.now();
      return jwks.keys.length > 0;
    } catch (err) {
      // Before the first keys the auth service is usually still starting: a retry, not a warning.
      if (keySet === undefined && isAppError(err) && (err.code === 'SERVICE_UNAVAILABLE' || err.code === 'TIMEOUT')) {
        if (!waitingReported)
          log.info({ code: err.code }, 'waiting for the auth service to publish its keys (JWKS); retrying every second');
        waitingReported = true;
        return false;
      }
      log.warn({ err }, 'could not load the JWKS');
      return false;
    }
  }

  function refresh(): Promise<boolean> {
    inflight ??= load().finally(() => {
      inflight = undefined;
    });
    return inflight;
  }

  async function verify(token: string): Promise<Identity> {
    const kid = headerKid(token);
    if (keySet === undefined || (kid !== undefined && !kids.has(kid) && Date.now() - lastRefresh > MIN_REFRESH_INTERVAL_MS)) {
      await refresh();
    }
    if (keySet === undefined) throw new AppError('SERVICE_UNAVAILABLE', 'token keys are not available yet');
    let payload: unknown;
    try {
      ({ payload } = await jwtVerify(token, keySet, {
        issuer: TOKEN_ISSUER,
        audience: TOKEN_AUDIENCE,
        algorithms: ALGORITHMS,
        currentDate: clock(),
        requiredClaims: ['exp', 'sub'],
      }));
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      const message = code === 'ERR_JWT_EXPIRED' ? 'token expired' : 'token is not valid';
      throw new AppError('AUTH_INVALID', message, { cause: err });
    }
    const claims = tokenClaimsSchema.safeParse(payload);
    if (!claims.success) throw new AppError('AUTH_INVALID', 'token claims are not valid');
    const c = claims.data;
    const caller: Caller = {
      user_id: c.sub,
      role: c.role,
      ...(c.tests === undefined ? {} : { tests: c.tests }),
      ...(c.app === undefined ? {} : { application_id: c.app }),
      ...(c.name === undefined ? {} : { name: c.name }),
      ...(c.accommodations === undefined ? {} : { accommodations: c.accommodations }),
    };
    return { caller, claims: c, expiresAt: new Date(c.exp * 1000) };
  }

  return { verify, refresh, ready: () => keySet !== undefined };
}

function headerKid(token: string): string | undefined {
  const head = token.split('.', 1)[0];
  if (head === undefined) return undefined;
  try {
    const parsed: unknown = JSON.parse(Buffer.from(head, 'base64url').toString('utf8'));
    if (typeof parsed === 'object' && parsed !== null && 'kid' in parsed && typeof parsed.kid === 'string') return parsed.kid;
  } catch {
    // a malformed header is reported by jwtVerify
  }
  return undefined;
}
