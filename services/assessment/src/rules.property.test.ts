import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { AssessmentStatus } from '@ap/protocol';
import { deadlineStep, graceLeft, secondsLeft } from './rules.ts';

// A model of one assessment's clock: the time limit, extra time granted, and the time that passed
// while it ran (pauses excluded). The document is changed the way the staff handlers change it
// (pause sets paused_at; resume moves the deadline by the paused time; extra time moves the
// deadline), and the rules must agree with the model at every step.
type Event = { kind: 'wait'; ms: number } | { kind: 'pause' } | { kind: 'resume' } | { kind: 'extra'; s: number };
const event: fc.Arbitrary<Event> = fc.oneof(
  fc.record({ kind: fc.constant('wait' as const), ms: fc.oneof(fc.integer({ min: 0, max: 2000 }), fc.integer({ min: 0, max: 900_000 })) }),
  fc.constant({ kind: 'pause' as const }),
  fc.constant({ kind: 'resume' as const }),
  fc.record({ kind: fc.constant('extra' as const), s: fc.integer({ min: 1, max: 3600 }) }),
);

type Doc = { status: AssessmentStatus; deadline: Date; paused_at: Date | null };

const scenario = fc.record({
  start: fc.integer({ min: 0, max: 4e12 }),
  limitS: fc.integer({ min: 1, max: 7200 }),
  graceS: fc.integer({ min: 0, max: 600 }),
  events: fc.array(event, { maxLength: 40 }),
});

test('seconds left equal the limit plus extra time minus the running time, across pauses', () => {
  fc.assert(
    fc.property(scenario, ({ start, limitS, graceS, events }) => {
      let now = start;
      let ran = 0; // ms the clock ran (not paused)
      let extraMs = 0;
      const doc: Doc = { status: 'in_progress', deadline: new Date(start + limitS * 1000), paused_at: null };
      for (const e of events) {
        const before = secondsLeft(doc, new Date(now));
        if (e.kind === 'wait') {
          now += e.ms;
          if (doc.status === 'in_progress') ran += e.ms;
          else assert.equal(secondsLeft(doc, new Date(now)), before, 'a paused clock stands still');
          assert.ok(secondsLeft(doc, new Date(now)) <= before, 'time only counts down');
        } else if (e.kind === 'pause' && doc.status === 'in_progress') {
          doc.status = 'paused';
          doc.paused_at = new Date(now);
          assert.equal(secondsLeft(doc, new Date(now)), before, 'pausing takes no time');
        } else if (e.kind === 'resume' && doc.status === 'paused') {
          doc.deadline = new Date(doc.deadline.getTime() + now - (doc.paused_at ?? new Date(now)).getTime());
          doc.status = 'in_progress';
          doc.paused_at = null;
          assert.equal(secondsLeft(doc, new Date(now)), before, 'resuming gives back exactly the paused time');
        } else if (e.kind === 'extra') {
          doc.deadline = new Date(doc.deadline.getTime() + e.s * 1000);
          extraMs += e.s * 1000;
        }
        const leftMs = limitS * 1000 + extraMs - ran;
        assert.equal(secondsLeft(doc, new Date(now)), Math.max(0, Math.floor(leftMs / 1000)));

        const at = new Date(now);
        const autosubmit = deadlineStep(doc, { on_expiry: 'autosubmit', grace_s: graceS }, at);
        const grace = deadlineStep(doc, { on_expiry: 'grace', grace_s: graceS }, at);
        if (doc.status === 'paused') {
          // A paused assessment is never expired by the sweep, however long the pause.
          assert.equal(autosubmit, 'none');
          assert.equal(grace, 'none');
        } else {
          assert.equal(autosubmit, leftMs < 0 ? 'expire' : 'none');
          assert.equal(grace, leftMs + graceS * 1000 < 0 ? 'abandon' : leftMs < 0 ? 'overdue' : 'none');
          assert.equal(graceLeft(doc, graceS, at), Math.max(0, Math.floor((leftMs + graceS * 1000) / 1000)));
        }
      }
    }),
    { numRuns: 1000 },
  );
});

test('an overdue assessment is abandoned after the grace period and never expired by autosubmit', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 4e12 }),
      fc.integer({ min: 0, max: 600 }),
      fc.integer({ min: 1, max: 2_000_000 }),
      (deadline, graceS, past) => {
        const doc: Doc = { status: 'overdue', deadline: new Date(deadline), paused_at: null };
        const now = new Date(deadline + past);
        assert.equal(deadlineStep(doc, { on_expiry: 'grace', grace_s: graceS }, now), past > graceS * 1000 ? 'abandon' : 'none');
        assert.equal(deadlineStep(doc, { on_expiry: 'autosubmit', grace_s: graceS }, now), 'none');
      },
    ),
  );
});

test('finished assessments are left alone by the deadline policy', () => {
  const finished: AssessmentStatus[] = ['completed', 'expired', 'abandoned', 'terminated', 'created'];
  fc.assert(
    fc.property(
      fc.constantFrom(...finished),
      fc.integer({ min: 0, max: 4e12 }),
      fc.integer({ min: -1e9, max: 1e9 }),
      fc.constantFrom('autosubmit' as const, 'grace' as const),
      (status, deadline, offset, onExpiry) => {
        const doc: Doc = { status, deadline: new Date(deadline), paused_at: null };
        assert.equal(deadlineStep(doc, { on_expiry: onExpiry, grace_s: 30 }, new Date(deadline + offset)), 'none');
      },
    ),
  );
});
