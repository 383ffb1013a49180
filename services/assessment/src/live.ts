import type { AssessmentResult, LiveAssessment, ResponseOf } from '@ap/protocol';
import { isOpen, secondsLeft } from './rules.ts';
import type { LoadedTest } from './selection.ts';
import type { AssessmentDoc, ItemDoc, ResultDoc } from './store.ts';

/** Presence batches come every 10 s by default; an assessment not reported for this long is offline. */
export const ONLINE_WINDOW_MS = 35_000;

type Seen = { connection: string; gateway: string; atMs: number };

/**
 * Which assessments have a live connection, kept in memory by every replica from the gateways'
 * connection events (at once) and presence batches (every few seconds, which also rebuild the
 * picture after a restart and age out the connections of a gateway that died).
 */
export type OnlineTracker = {
  connection(event: { gateway_id: string; connection_id: string; assessment_id: string; online: boolean }, nowMs: number): void;
  batch(gatewayId: string, assessmentIds: readonly string[], nowMs: number): void;
  isOnline(assessmentId: string, nowMs: number): boolean;
  forget(assessmentId: string): void;
  size(): number;
};

export function createOnlineTracker(windowMs = ONLINE_WINDOW_MS): OnlineTracker {
  const seen = new Map<string, Seen>();
  return {
    connection(event, nowMs) {
      if (event.online) {
        seen.set(event.assessment_id, { connection: event.connection_id, gateway: event.gateway_id, atMs: nowMs });
      } else if (seen.get(event.assessment_id)?.connection === event.connection_id) {
        // Only the connection that holds the assessment takes it offline (a replaced one closes later).
        seen.delete(event.assessment_id);
      }
    },
    batch(gatewayId, assessmentIds, nowMs) {
      for (const id of assessmentIds) {
        const current = seen.get(id);
        if (current === undefined || current.gateway === gatewayId)
          seen.set(id, { connection: current?.connection ?? '', gateway: gatewayId, atMs: nowMs });
      }
      // Old entries go, so that the map stays as large as the number of live connections.
      for (const [id, s] of seen) if (nowMs - s.atMs > 2 * windowMs) seen.delete(id);
    },
    isOnline(assessmentId, nowMs) {
      const s = seen.get(assessmentId);
      return s !== undefined && nowMs - s.atMs <= windowMs;
    },
    forget(assessmentId) {
      seen.delete(assessmentId);
    },
    size: () => seen.size,
  };
}

/** An assessment as proctors see it in the live feed: progress, time, ability estimate, incidents — never answers. */
export function liveView(a: AssessmentDoc, online: boolean, now: Date): LiveAssessment {
  const last = a.responses.at(-1);
  const incidents = a.incidents ?? [];
  const lastIncident = incidents.at(-1);
  const finished = !isOpen(a.status);
  return {
    assessment_id: a._id,
    test_id: a.test_id,
    test_title: a.test_title ?? '',
    strategy: a.strategy,
    candidate_id: a.candidate_id,
    candidate_name: a.candidate_name ?? '',
    status: a.status,
    online,
    answered: a.responses.length,
    planned: finished ? a.responses.length : Math.max(a.responses.length, a.planned.max),
    time_remaining_s: finished ? 0 : secondsLeft(a, now),
    deadline: a.deadline.toISOString(),
    started_at: a.started_at.toISOString(),
    ...(a.strategy === 'adaptive' && last?.theta !== undefined ? { theta: last.theta } : {}),
    ...(a.strategy === 'adaptive' && last?.se !== undefined ? { se: last.se } : {}),
    incidents: incidents.length,
    ...(lastIncident === undefined ? {} : { last_incident: { kind: lastIncident.kind, at: lastIncident.at } }),
    ...(a.accommodations === undefined ? {} : { accommodations: a.accommodations }),
    updated_at: a.updated_at.toISOString(),
  };
}

type ResultRow = ResponseOf<'assessmentResults'>['results'][number];

/** A stored result as people may see it, without the item-by-item trace. */
export function resultSummary(r: ResultDoc): Omit<AssessmentResult, 'trace'> {
  return {
    number_correct: r.number_correct,
    answered: r.answered,
    percent_correct: r.percent_correct,
    ...(r.theta === undefined ? {} : { theta: r.theta }),
    ...(r.se === undefined ? {} : { se: r.se }),
    ...(r.scaled_score === undefined ? {} : { scaled_score: r.scaled_score }),
    ...(r.percentile === undefined ? {} : { percentile: r.percentile }),
    ...(r.incidents === undefined ? {} : { incidents: r.incidents }),
    ...(r.accommodations === undefined ? {} : { accommodations: r.accommodations }),
    ...(r.decision === undefined ? {} : { decision: r.decision }),
    skills: r.skills,
  };
}

/** A row of a test's results for recruiters. */
export function resultRow(a: AssessmentDoc): ResultRow {
  const r = a.result;
  return {
    assessment_id: a._id,
    candidate_id: a.candidate_id,
    candidate_name: a.candidate_name ?? '',
    status: a.status,
    reason: a.reason,
    started_at: a.started_at.toISOString(),
    finished_at: a.finished_at?.toISOString() ?? null,
    answered: r?.answered ?? a.responses.length,
    ...(r === null ? {} : { score: r.scaled_score ?? r.percent_correct }),
    incidents: r?.incidents ?? a.incidents?.length ?? 0,
    ...(a.accommodations === undefined ? {} : { accommodations: a.accommodations }),
    result: r === null ? null : resultSummary(r),
  };
}

const normalize = (s: string): string => s.toLowerCase().replace(/\s+/g, ' ').trim();

/**
 * The author's clarification of an item, unless it could give an answer away: a note that quotes
 * an option's text or names an option is withheld (the assistant then offers a proctor). The rule
 * looks at every option alike, so whether a note is shown says nothing about which one is the key.
 */
export function safeClarification(item: Pick<ItemDoc, 'clarification' | 'options'>): string | undefined {
  const text = item.clarification;
  if (text === undefined || text.trim().length === 0) return undefined;
  const note = normalize(text);
  for (const option of item.options) {
    const optionText = normalize(option.text);
    if (optionText.length > 0 && new RegExp(`(^|[^\\p{L}\\p{N}])${escapeRegExp(optionText)}($|[^\\p{L}\\p{N}])`, 'u').test(note))
      return undefined;
    const namesOption = new RegExp(`\\b(option|answer|choice|pick|select)\\s*[:(]?\\s*${escapeRegExp(option.id)}\\b`, 'i');
    if (namesOption.test(text)) return undefined;
  }
  return text.trim();
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** What the help assistant may know about an assessment (see `assessmentHelpContext`). */
export function helpContextView(a: AssessmentDoc, test: LoadedTest, now: Date): ResponseOf<'assessmentHelpContext'> {
  const item = a.current === null ? undefined : test.items.get(a.current.item_id);
  const clarification = item === undefined ? undefined : safeClarification(item);
  return {
    assessment_id: a._id,
    status: a.status,
    time_remaining_s: isOpen(a.status) ? secondsLeft(a, now) : 0,
    answered: a.responses.length,
    planned: a.planned,
    adaptive: a.strategy === 'adaptive',
    on_expiry: test.doc.on_expiry,
    question:
      item === undefined || a.current === null
        ? null
        : {
            index: a.current.index,
            type: 'single_choice',
            skill: item.skill,
            options: item.options.length,
            ...(clarification === undefined ? {} : { clarification }),
          },
  };
}
