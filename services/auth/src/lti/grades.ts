import { randomUUID } from 'node:crypto';
import type { JsMsg } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { SignJWT } from 'jose';
import { z } from 'zod';
import { startDelivery } from '@ap/bus';
import type { DeliveryOutcome } from '@ap/bus';
import type { Logger } from '@ap/logging';
import {
  AGS_MEDIA,
  AGS_SCOPES,
  ASSESSMENT_STREAM,
  assessmentStatusSchema,
  gradeSchema,
  platformUrlSchema,
  streamEvents,
} from '@ap/protocol';
import type { Clock, Grade } from '@ap/protocol';
import type { GradeTargetDoc, LtiCollections, PlatformDoc } from './store.ts';
import { TOOL_ALG } from './tool-key.ts';
import type { ToolKey } from './tool-key.ts';

/** The durable consumer of finished assessments that returns LTI grades. */
export const LTI_GRADES_CONSUMER = 'lti-grades';

export type GradeReturnConfig = { timeoutMs: number; retryMinMs: number; retryMaxMs: number };

const finishedEvent = z.object({
  assessment_id: z.string(),
  candidate_id: z.string(),
  test_id: z.string(),
  status: assessmentStatusSchema,
  finished_at: z.string(),
  grade: gradeSchema.optional(),
});
type Finished = z.output<typeof finishedEvent>;

const tokenResponse = z.object({
  access_token: z.string().min(1),
  token_type: z.string().regex(/^bearer$/iu, 'must be Bearer'),
  expires_in: z.number().positive().optional(),
});
const lineItemSchema = z.object({ id: platformUrlSchema, resourceLinkId: z.string().optional() });

/** A refusal from the platform that a later attempt may get past. */
class PlatformRefused extends Error {}

/** The AGS score of a finished assessment (AGS 2.0 §3.4): its grade as points, and whether it was completed. */
export function scoreOf(target: Pick<GradeTargetDoc, 'sub'>, event: Finished): Record<string, unknown> {
  const completed = event.status === 'completed' || event.status === 'expired';
  const grade: Grade | undefined = event.grade;
  return {
    userId: target.sub,
    ...(grade === undefined ? {} : { scoreGiven: Math.round(grade.given * 100) / 100, scoreMaximum: grade.maximum }),
    activityProgress: completed ? 'Completed' : 'Submitted',
    gradingProgress: grade === undefined ? 'Failed' : 'FullyGraded',
    timestamp: event.finished_at,
    comment: `assessment ${event.status}`,
  };
}

/** `…/lineitem/1?type=x` + `/scores` = `…/lineitem/1/scores?type=x` (AGS 2.0 §3.4.1). */
export function scoresUrl(lineitem: string): string {
  const url = new URL(lineitem);
  url.pathname = `${url.pathname.replace(/\/$/u, '')}/scores`;
  return url.toString();
}

/**
 * The grade return: for each finished assessment of a learner who came through an LTI launch,
 * the score goes to the line item of their resource link (found or created through `lineitems`
 * when the launch gave no line item), with an access token from the platform's token endpoint
 * (client credentials, a client assertion signed with the tool's key). Reading the stream
 * through a durable consumer makes it a retrying outbox: a platform that is down, refuses or
 * times out gets the score again later, until it takes it.
 */
export function startGradeReturn(deps: {
  nc: NatsConnection;
  col: LtiCollections;
  toolKey: () => Promise<ToolKey>;
  clock: Clock;
  log: Logger;
  config: GradeReturnConfig;
}): { close(): Promise<void> } {
  const { col, config, clock } = deps;
  const log = deps.log.child({ module: 'lti-grades' });
  const tokens = new Map<string, { token: string; until: number }>();

  async function call(url: string, init: RequestInit & { headers: Record<string, string> }): Promise<Response> {
    let res: Response;
    try {
      res = await fetch(url, { ...init, signal: AbortSignal.timeout(config.timeoutMs), redirect: 'error' });
    } catch (err) {
      throw new PlatformRefused(`${new URL(url).host} did not answer (${err instanceof Error ? err.name : 'error'})`);
    }
    if (!res.ok) {
      await res.body?.cancel();
      throw new PlatformRefused(`${new URL(url).host} answered ${String(res.status)} to ${init.method ?? 'GET'} ${new URL(url).pathname}`);
    }
    return res;
  }

  async function accessToken(platform: PlatformDoc, scopes: string[]): Promise<string> {
    const cacheKey = `${platform._id} ${scopes.join(' ')}`;
    const cached = tokens.get(cacheKey);
    if (cached !== undefined && cached.until > clock().getTime()) return cached.token;
    const key = await deps.toolKey();
    const now = Math.floor(clock().getTime() / 1000);
    const assertion = await new SignJWT({})
      .setProtectedHeader({ alg: TOOL_ALG, kid: key.kid, typ: 'JWT' })
      .setIssuer(platform.client_id)
      .setSubject(platform.client_id)
      .setAudience(platform.token_audience ?? platform.token_url)
      .setIssuedAt(now)
      .setExpirationTime(now + 300)
      .setJti(randomUUID())
      .sign(key.privateKey);
    const res = await call(platform.token_url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
        client_assertion: assertion,
        scope: scopes.join(' '),
      }).toString(),
    });
    const parsed = tokenResponse.safeParse(await res.json().catch(() => undefined));
    if (!parsed.success) throw new PlatformRefused('the token endpoint answered without a bearer access_token');
    const ttlMs = (parsed.data.expires_in ?? 3600) * 1000;
    tokens.set(cacheKey, { token: parsed.data.access_token, until: clock().getTime() + Math.max(0, ttlMs - 30_000) });
    return parsed.data.access_token;
  }

  /** The line item of the target's resource link: the launch's, or found or created in its container. */
  async function lineItemOf(target: GradeTargetDoc, platform: PlatformDoc, token: string, grade: Grade | undefined): Promise<string> {
    if (target.lineitem !== undefined) return target.lineitem;
    if (target.lineitems === undefined) throw new PlatformRefused('the launch gave neither a line item nor a line item container');
    const auth = { authorization: `Bearer ${token}` };
    const list = new URL(target.lineitems);
    list.searchParams.set('resource_link_id', target.resource_link_id);
    const found = await call(list.toString(), { method: 'GET', headers: { ...auth, accept: AGS_MEDIA.lineItemContainer } });
    const items = z.array(lineItemSchema).safeParse(await found.json().catch(() => undefined));
    let id = items.success ? items.data.find((i) => i.resourceLinkId === target.resource_link_id)?.id : undefined;
    if (id === undefined) {
      if (!target.scopes.includes(AGS_SCOPES.lineItem)) throw new PlatformRefused('no line item for the link, and no scope to create one');
      const created = await call(target.lineitems, {
        method: 'POST',
        headers: { ...auth, 'content-type': AGS_MEDIA.lineItem, accept: AGS_MEDIA.lineItem },
        body: JSON.stringify({
          scoreMaximum: grade?.maximum ?? 100,
          label: target.resource_link_title ?? `Assessment ${target.test_id}`,
          resourceId: target.test_id,
          resourceLinkId: target.resource_link_id,
        }),
      });
      const item = lineItemSchema.safeParse(await created.json().catch(() => undefined));
      if (!item.success) throw new PlatformRefused('the platform created a line item without an id');
      id = item.data.id;
    }
    await col.grades.updateOne({ _id: target._id }, { $set: { lineitem: id } });
    return id;
  }

  async function returnGrade(event: Finished, target: GradeTargetDoc): Promise<void> {
    const platform = await col.platforms.findOne({ _id: target.platform_id });
    if (platform === null) throw new PlatformRefused(`platform ${target.platform_id} is no longer registered`);
    const scopes = [AGS_SCOPES.score, AGS_SCOPES.lineItem, AGS_SCOPES.lineItemReadOnly].filter((s) => target.scopes.includes(s));
    if (!scopes.includes(AGS_SCOPES.score)) throw new PlatformRefused('the launch did not grant the score scope');
    const token = await accessToken(platform, scopes);
    try {
      const lineitem = await lineItemOf(target, platform, token, event.grade);
      await call(scoresUrl(lineitem), {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': AGS_MEDIA.score },
        body: JSON.stringify(scoreOf(target, event)),
      });
    } catch (err) {
      // A token the platform no longer takes is fetched again on the next attempt.
      tokens.delete(`${platform._id} ${scopes.join(' ')}`);
      throw err;
    }
  }

  async function handle(m: JsMsg): Promise<DeliveryOutcome> {
    const parsed = finishedEvent.safeParse(m.json());
    if (!parsed.success) return { drop: 'finished event that does not parse' };
    const event = parsed.data;
    const target = await col.grades.findOne({ _id: `${event.candidate_id}:${event.test_id}` });
    if (target === null) return { done: true }; // not a learner from an LTI launch
    try {
      await returnGrade(event, target);
    } catch (err) {
      if (err instanceof PlatformRefused) return { retry: `grade of ${event.assessment_id} not returned: ${err.message}` };
      throw err;
    }
    const last = { ...(event.grade ?? { given: 0, maximum: 0 }), sent_at: clock(), assessment_id: event.assessment_id };
    await col.grades.updateOne({ _id: target._id }, { $set: { last_grade: last } });
    log.info({ assessment_id: event.assessment_id, platform_id: target.platform_id, grade: event.grade }, 'LTI grade returned');
    return { done: true };
  }

  return startDelivery({
    nc: deps.nc,
    log,
    stream: ASSESSMENT_STREAM.name,
    durable: LTI_GRADES_CONSUMER,
    subjects: [streamEvents.completed.subject, streamEvents.expired.subject],
    // A delivery makes up to four calls (token, find, create, score).
    ackWaitMs: 5 * config.timeoutMs,
    retryMinMs: config.retryMinMs,
    retryMaxMs: config.retryMaxMs,
    handle,
  });
}
