import { systemClock } from '@ap/protocol';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { connectBus } from '@ap/bus';
import type { Bus } from '@ap/bus';
import { createLogger } from '@ap/logging';
import type { ParsedRequestOf } from '@ap/protocol';
import { startInfra } from '@ap/stack';
import type { Infra } from '@ap/stack';
import { createCleanupService } from './index.ts';

type LogLine = { level: number; msg: string; [field: string]: unknown };

function capturingLogger() {
  const lines: LogLine[] = [];
  const log = createLogger({
    service: 'cleanup-test',
    level: 'debug',
    destination: { write: (s: string) => void lines.push(JSON.parse(s) as LogLine) },
  });
  return { log, lines };
}

const expiredPage = (prefix: string, n: number) =>
  Array.from({ length: n }, (_, i) => ({ assessment_id: `${prefix}${i}`, candidate_id: `c${i}` }));

async function until(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(10);
  }
}

const clock = systemClock;

describe('cleanup sweeps against a stand-in assessment service on a real bus', () => {
  let infra: Infra;
  let serviceBus: Bus;
  let assessmentBus: Bus;

  // What `before` set up, undone newest first by `after`: a `before` that failed halfway still releases what it made.
  const teardown: Array<() => Promise<unknown>> = [];

  before(async () => {
    infra = await startInfra();
    teardown.push(() => infra.close());
    const { log } = capturingLogger();
    // Each as its own NATS user, as in production (the server admits no one else).
    serviceBus = await connectBus({ servers: infra.natsUrl, nkeySeed: infra.natsIdentities?.cleanup.seed, name: 'cleanup', log });
    teardown.push(() => serviceBus.close());
    assessmentBus = await connectBus({ servers: infra.natsUrl, nkeySeed: infra.natsIdentities?.assessment.seed, name: 'assessment', log });
    teardown.push(() => assessmentBus.close());
  });

  after(async () => {
    for (const undo of teardown.reverse()) await undo();
  });

  /** Serves `assessmentExpireDue` with the given pages, then empty pages; records each request. */
  function serveExpireDue(pages: Array<ReturnType<typeof expiredPage>>, delayMs = 0) {
    const calls: Array<ParsedRequestOf<'assessmentExpireDue'>> = [];
    let active = 0;
    let maxActive = 0;
    const sub = assessmentBus.serve('assessmentExpireDue', 'assessment', async (req) => {
      calls.push(req);
      active += 1;
      maxActive = Math.max(maxActive, active);
      try {
        if (delayMs > 0) await sleep(delayMs);
        return { expired: pages.shift() ?? [] };
      } finally {
        active -= 1;
      }
    });
    return { calls, maxActive: () => maxActive, stop: () => sub.drain() };
  }

  test('a sweep pages while full pages come back and reports what expired', async () => {
    const responder = serveExpireDue([expiredPage('a', 100), expiredPage('b', 100), expiredPage('c', 7)]);
    await assessmentBus.nc.flush();
    const { log, lines } = capturingLogger();
    const cleanup = createCleanupService({ bus: serviceBus, log, clock, intervalMs: 60_000 });
    try {
      const report = await cleanup.sweepOnce();
      assert.equal(report.error, undefined);
      assert.equal(report.leased, true);
      assert.equal(report.pages, 3);
      assert.equal(report.expired.length, 207);
      assert.equal(report.expired[0], 'a0');
      assert.equal(report.expired.at(-1), 'c6');
      assert.equal(report.truncated, false);
      // Nothing answers the secondary steps here: they are reported as warnings, and the expiry stands.
      assert.equal(report.warnings.length, 2);
      assert.equal(responder.calls.length, 3);
      for (const call of responder.calls) {
        assert.deepEqual(call.caller, { user_id: 'cleanup', role: 'admin' });
        assert.equal(call.limit, 100);
      }
      const logged = lines.find((l) => l.msg === 'sweep finished');
      assert.ok(logged);
      assert.equal(logged['count'], 207);
      assert.deepEqual((logged['assessment_ids'] as string[]).slice(0, 2), ['a0', 'a1']);

      const idle = await cleanup.sweepOnce();
      assert.deepEqual([idle.pages, idle.expired.length], [1, 0]);
    } finally {
      await cleanup.close();
      await responder.stop();
    }
  });

  test('expired invitations are purged after the retention: 7 days unless configured', async () => {
    const { log } = capturingLogger();
    const authBus = await connectBus({ servers: infra.natsUrl, nkeySeed: infra.natsIdentities?.auth.seed, name: 'auth', log });
    const asked: number[] = [];
    const sub = authBus.serve('authPurgeInvitations', 'auth', (req) => {
      asked.push(req.older_than_s);
      return Promise.resolve({ removed: 3 });
    });
    const responder = serveExpireDue([]);
    await Promise.all([authBus.nc.flush(), assessmentBus.nc.flush()]);
    const byDefault = createCleanupService({ bus: serviceBus, log, clock, intervalMs: 60_000 });
    const configured = createCleanupService({ bus: serviceBus, log, clock, intervalMs: 60_000, invitationRetentionS: 3600 });
    try {
      assert.equal((await byDefault.sweepOnce()).invitations_removed, 3);
      assert.equal((await configured.sweepOnce()).invitations_removed, 3);
      assert.deepEqual(asked, [7 * 24 * 3600, 3600]);
    } finally {
      await byDefault.close();
      await configured.close();
      await responder.stop();
      await sub.drain();
      await authBus.close();
    }
  });

  test('a sweep stops at the page bound and says so', async () => {
    const responder = serveExpireDue(Array.from({ length: 10 }, (_, i) => expiredPage(`p${i}-`, 10)));
    await assessmentBus.nc.flush();
    const { log } = capturingLogger();
    const cleanup = createCleanupService({ bus: serviceBus, log, clock, intervalMs: 60_000, pageSize: 10, maxPages: 3 });
    try {
      const report = await cleanup.sweepOnce();
      assert.equal(report.pages, 3);
      assert.equal(report.expired.length, 30);
      assert.equal(report.truncated, true);
      assert.equal(responder.calls[0]?.limit, 10);
    } finally {
      await cleanup.close();
      await responder.stop();
    }
  });

  test('without the lease nothing is requested', async () => {
    const responder = serveExpireDue([expiredPage('x', 3)]);
    await assessmentBus.nc.flush();
    const { log } = capturingLogger();
    const cleanup = createCleanupService({ bus: serviceBus, log, clock, intervalMs: 60_000, acquireLease: () => Promise.resolve(false) });
    try {
      const report = await cleanup.sweepOnce();
      assert.equal(report.leased, false);
      assert.equal(report.pages, 0);
      assert.equal(responder.calls.length, 0);
    } finally {
      await cleanup.close();
      await responder.stop();
    }
  });

  test('when the assessment service is down, errors are logged and the loop keeps sweeping', async () => {
    const { log, lines } = capturingLogger();
    const cleanup = createCleanupService({ bus: serviceBus, log, clock, intervalMs: 30 });
    const failures = () => lines.filter((l) => l.msg.startsWith('sweep stopped by an error'));
    let responder: ReturnType<typeof serveExpireDue> | undefined;
    try {
      cleanup.start();
      await until(() => failures().length >= 3);
      const failure = failures()[0];
      assert.ok(failure);
      assert.equal(failure.level, 40, 'logged as a warning');
      assert.equal((failure['error'] as { code: string }).code, 'SERVICE_UNAVAILABLE');

      // The service comes back: the next ticks reach it without a restart.
      responder = serveExpireDue([expiredPage('late', 2)]);
      await until(() => lines.some((l) => l.msg === 'sweep finished'));
      const done = lines.find((l) => l.msg === 'sweep finished');
      assert.deepEqual(done?.['assessment_ids'], ['late0', 'late1']);
    } finally {
      await cleanup.close();
      await responder?.stop();
    }
  });

  test('sweeps never overlap: ticks are skipped while one runs, and sweepOnce joins it', async () => {
    const responder = serveExpireDue([expiredPage('s', 100), expiredPage('t', 100)], 150);
    await assessmentBus.nc.flush();
    const { log, lines } = capturingLogger();
    const cleanup = createCleanupService({ bus: serviceBus, log, clock, intervalMs: 20 });
    try {
      const first = cleanup.sweepOnce();
      const joined = cleanup.sweepOnce();
      assert.equal(first, joined, 'a second call joins the running sweep');
      cleanup.start();
      const report = await first;
      assert.equal(report.pages, 3);
      assert.equal(report.expired.length, 200);
      await until(() => responder.calls.length >= 5);
      assert.equal(responder.maxActive(), 1, 'never two requests at once');
      assert.ok(lines.some((l) => l.msg === 'previous sweep still running; tick skipped'));
    } finally {
      await cleanup.close();
      await responder.stop();
    }
  });

  test('close waits for the running sweep and stops it after the current page', async () => {
    const responder = serveExpireDue(
      Array.from({ length: 5 }, (_, i) => expiredPage(`z${i}-`, 100)),
      100,
    );
    await assessmentBus.nc.flush();
    const { log } = capturingLogger();
    const cleanup = createCleanupService({ bus: serviceBus, log, clock, intervalMs: 60_000 });
    const sweeping = cleanup.sweepOnce();
    await until(() => responder.calls.length === 1);
    await cleanup.close();
    const report = await sweeping;
    assert.equal(report.pages, 1);
    assert.equal(responder.calls.length, 1);
    await responder.stop();
  });
});
