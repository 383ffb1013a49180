import type { Bus, Handler } from '@ap/bus';
import type { Db } from '@ap/db';
import type { Logger } from '@ap/logging';
import type { Clock, EndpointName } from '@ap/protocol';
import { accountHandlers } from './accounts.ts';
import type { AuthConfig, AuthContext, HandlerTable } from './context.ts';
import { createHashGate } from './hash-gate.ts';
import { invitationCountHandlers } from './invitation-counts.ts';
import { invitationHandlers } from './invitations.ts';
import { createKeyRing } from './keys.ts';
import { redemptionHandlers } from './redemption.ts';
import { startGradeReturn } from './lti/grades.ts';
import type { GradeReturnConfig } from './lti/grades.ts';
import { createLtiParts, ltiLaunchHandlers } from './lti/launch.ts';
import { ltiPlatformHandlers } from './lti/platforms.ts';
import { openLtiCollections } from './lti/store.ts';
import { createToolKey } from './lti/tool-key.ts';
import { openCollections } from './store.ts';
import { createThrottle } from './throttle.ts';

/**
 * What createAuthService needs: open connections, a logger, the time source and settings;
 * `gradeReturn` starts the LTI grade return (it needs the assessment stream on JetStream).
 */
export type AuthDependencies = { bus: Bus; db: Db; log: Logger; clock: Clock; config: AuthConfig; gradeReturn?: GradeReturnConfig };

export type { AuthConfig, AuthLimits } from './context.ts';

/** A running auth service; `close` stops taking requests and waits for those in progress. */
export type AuthService = { name: string; close(): Promise<void> };

const QUEUE = 'auth';
// Password checks one client address or one account may have running or waiting at once.
const HASHES_PER_KEY = 2;

/**
 * Creates the auth collections and indexes, loads or generates the signing key, and serves
 * login, user creation, invitations, redemption and the JWKS on the bus in the `auth` queue group.
 */
export async function createAuthService(deps: AuthDependencies): Promise<AuthService> {
  const { bus, clock, config } = deps;
  const log = deps.log.child({ module: 'auth' });
  const col = await openCollections(deps.db);
  const keyRing = createKeyRing({
    keys: col.signingKeys,
    alg: config.signingAlg,
    maxAgeS: config.keyMaxAgeS,
    maxTokenTtlS: Math.max(config.tokenTtlS, config.candidateTokenTtlS),
    clock,
    log: deps.log,
  });
  // Fail at start-up, not at the first login, when keys cannot be loaded or stored.
  await keyRing.signingKey();
  const ltiCol = await openLtiCollections(deps.db);
  const lti = createLtiParts(ltiCol, createToolKey(ltiCol.toolKeys));

  // Throttles live in this process's memory: see the README (Security, Auth) for why not in the database.
  const now = () => clock().getTime();
  const ctx: AuthContext = {
    bus,
    log,
    clock,
    config,
    col,
    keyRing,
    throttles: {
      loginPerAccount: createThrottle(config.limits.loginPerAccount, { now }),
      loginPerAddress: createThrottle(config.limits.loginPerAddress, { now }),
      redeemPerAddress: createThrottle(config.limits.redeemPerAddress, { now }),
    },
    hashGate: createHashGate({ concurrency: config.limits.hashConcurrency, queue: config.limits.hashQueue, perKey: HASHES_PER_KEY }),
  };

  // Requests in progress, so that close() can let them finish before the database is closed.
  const inFlight = new Set<Promise<unknown>>();
  function tracked<E extends EndpointName>(handler: Handler<E>): Handler<E> {
    return (request, context) => {
      const result = Promise.resolve(handler(request, context));
      inFlight.add(result);
      const forget = () => inFlight.delete(result);
      result.then(forget, forget);
      return result;
    };
  }

  const table: HandlerTable = {
    ...accountHandlers(ctx),
    ...invitationHandlers(ctx),
    ...invitationCountHandlers(ctx),
    ...redemptionHandlers(ctx),
    ...ltiPlatformHandlers(ctx, lti),
    ...ltiLaunchHandlers(ctx, lti),
  };
  const subscriptions = (Object.keys(table) as EndpointName[]).map((name) =>
    bus.serve(name, QUEUE, tracked(table[name] as Handler<typeof name>)),
  );
  const grades =
    deps.gradeReturn === undefined
      ? undefined
      : startGradeReturn({ nc: bus.nc, col: ltiCol, toolKey: lti.toolKey, clock, log, config: deps.gradeReturn });
  log.info({ alg: config.signingAlg }, 'auth service ready');

  return {
    name: 'auth',
    async close() {
      await Promise.allSettled(subscriptions.map((s) => (s.isClosed() ? Promise.resolve() : s.drain())));
      await grades?.close();
      await Promise.allSettled([...inFlight]);
    },
  };
}
