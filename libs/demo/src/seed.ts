import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Bus } from '@ap/bus';
import { parseBankFile } from '@ap/cat';
import { AppError, isAppError } from '@ap/protocol';
import { ADAPTIVE_SKILLS, generateAdaptiveBank } from './adaptive-bank.ts';
import type { Caller, Item, TestDefinitionInput } from '@ap/protocol';

/** The platform itself, acting for the seed (the bus is internal; identities there are trusted). */
const SYSTEM: Caller = { user_id: 'system', role: 'admin' };

export const DEMO_TEST_ID = 'demo-fundamentals';
export const ADAPTIVE_TEST_ID = 'demo-adaptive';
/** The protocol's example test: `{"type": "start_assessment", "data": {"test_id": 123}}` starts it. */
export const EXAMPLE_TEST_ID = '123';
export const DEMO_RECRUITER = { email: 'recruiter@demo.test', password: 'recruiter-demo-pass' } as const;
export const DEMO_PROCTOR = { email: 'proctor@demo.test', password: 'proctor-demo-pass' } as const;

/** What the seed created: ids and credentials to print for the person trying the platform. */
export type DemoSeed = {
  test_id: string;
  adaptive_test_id: string;
  example_test_id: string;
  recruiter: { email: string; password: string; user_id: string };
  proctor: { email: string; password: string; user_id: string };
  candidate: { email: string; user_id: string; invitation_code: string; token: string; expires_at: string; application_id: string };
  /** An invitation of the same candidate to the adaptive test. */
  adaptive_invitation_code: string;
  /** An invitation of the same candidate to the protocol's example test (`123`). */
  example_invitation_code: string;
};

/** Reads a bank file shipped in libs/demo/banks and returns its items, or throws naming the bad items. */
export async function loadDemoBank(name: string): Promise<Item[]> {
  const path = fileURLToPath(new URL(`../banks/${name}`, import.meta.url));
  const text = await readFile(path, 'utf8');
  const parsed = parseBankFile(text, name.endsWith('.json') ? 'json' : 'yaml');
  if (!parsed.ok) {
    const lines = parsed.errors.slice(0, 10).map((e) => `${String(e.item)} ${e.field}: ${e.message}`);
    throw new Error(`bank ${name} is invalid:\n${lines.join('\n')}`);
  }
  return parsed.items.map((i) => ({ ...i, type: 'single_choice' as const }));
}

/** The demo test: 30 questions over 3 skills in a seeded random order, 30 minutes. */
export function demoTestDefinition(items: readonly Item[]): TestDefinitionInput {
  return {
    id: DEMO_TEST_ID,
    title: 'Fundamentals: numeracy, logic and software',
    description: 'Thirty single-choice questions, ten per skill, in an order shuffled for each candidate.',
    time_limit_s: 30 * 60,
    strategy: 'random',
    items: items.map((i) => i.id),
    skills: [
      { name: 'numeracy', share: 1 / 3 },
      { name: 'logic', share: 1 / 3 },
      { name: 'software', share: 1 / 3 },
    ],
    feedback: { show_correctness: false, show_score: true },
  };
}

/** The protocol's example test: five questions q1–q5 in order, five minutes, correctness shown. */
export function exampleTestDefinition(items: readonly Item[]): TestDefinitionInput {
  return {
    id: EXAMPLE_TEST_ID,
    title: 'Protocol example',
    description: 'Five short questions asked in order, q1 first, for trying the protocol with its example frames.',
    time_limit_s: 5 * 60,
    strategy: 'fixed',
    items: items.map((i) => i.id),
    feedback: { show_correctness: true, show_score: true },
  };
}

/** The adaptive demo test: IRT item selection over 240 calibrated items in four skills, 10 to 20 items. */
export function adaptiveTestDefinition(items: readonly Item[]): TestDefinitionInput {
  return {
    id: ADAPTIVE_TEST_ID,
    title: 'Adaptive quantitative reasoning',
    description: 'Questions adapt to your answers: between 10 and 20 of them, across four skills.',
    time_limit_s: 20 * 60,
    strategy: 'adaptive',
    items: items.map((i) => i.id),
    skills: ADAPTIVE_SKILLS.map((name) => ({ name, share: 0.25, min: 2 })),
    stopping: { min_items: 10, max_items: 20, se_target: 0.3 },
    scoring: { slope: 100, intercept: 500, min: 200, max: 800 },
    exposure: { randomesque: 3, sympson_hetter: false },
    feedback: { show_correctness: false, show_score: true },
  };
}

/**
 * Seeds the demo through the services' own subjects: staff users, the demo test and a fresh
 * candidate with an invitation, redeemed for a token. Safe to run again: users and the test are
 * idempotent, and every run invites a new candidate.
 */
export async function seedDemo(bus: Bus, options: { candidateEmail?: string; waitMs?: number } = {}): Promise<DemoSeed> {
  const waitMs = options.waitMs ?? 30_000;
  const recruiter = await retry(waitMs, () =>
    bus.request('authCreateUser', { caller: SYSTEM, ...DEMO_RECRUITER, role: 'recruiter', name: 'Demo Recruiter' }),
  );
  const proctor = await retry(waitMs, () =>
    bus.request('authCreateUser', {
      caller: SYSTEM,
      ...DEMO_PROCTOR,
      role: 'proctor',
      name: 'Demo Proctor',
      tests: [DEMO_TEST_ID, ADAPTIVE_TEST_ID, EXAMPLE_TEST_ID],
    }),
  );
  const items = await loadDemoBank('demo-fundamentals.yaml');
  const recruiterCaller: Caller = { user_id: recruiter.user_id, role: 'recruiter' };
  const test = await retry(waitMs, () =>
    bus.request('testCreate', { caller: recruiterCaller, definition: demoTestDefinition(items), items }),
  );
  const adaptiveItems = generateAdaptiveBank();
  const adaptive = await retry(waitMs, () =>
    bus.request('testCreate', { caller: recruiterCaller, definition: adaptiveTestDefinition(adaptiveItems), items: adaptiveItems }),
  );
  const exampleItems = await loadDemoBank('example.yaml');
  const example = await retry(waitMs, () =>
    bus.request('testCreate', { caller: recruiterCaller, definition: exampleTestDefinition(exampleItems), items: exampleItems }),
  );
  const email = options.candidateEmail ?? `candidate-${Date.now().toString(36)}@demo.test`;
  const invitation = await bus.request('authInvite', {
    caller: recruiterCaller,
    test_id: test.test_id,
    candidate_email: email,
    candidate_name: 'Demo Candidate',
  });
  const redeemed = await bus.request('authRedeem', { code: invitation.code });
  const adaptiveInvitation = await bus.request('authInvite', {
    caller: recruiterCaller,
    test_id: adaptive.test_id,
    candidate_email: email,
    candidate_name: 'Demo Candidate',
  });
  const exampleInvitation = await bus.request('authInvite', {
    caller: recruiterCaller,
    test_id: example.test_id,
    candidate_email: email,
    candidate_name: 'Demo Candidate',
  });
  return {
    test_id: test.test_id,
    adaptive_test_id: adaptive.test_id,
    example_test_id: example.test_id,
    recruiter: { ...DEMO_RECRUITER, user_id: recruiter.user_id },
    proctor: { ...DEMO_PROCTOR, user_id: proctor.user_id },
    candidate: {
      email,
      user_id: redeemed.user_id,
      invitation_code: invitation.code,
      token: redeemed.token,
      expires_at: redeemed.expires_at,
      application_id: redeemed.application_id,
    },
    adaptive_invitation_code: adaptiveInvitation.code,
    example_invitation_code: exampleInvitation.code,
  };
}

/** Retries while the owning service is not up yet (no responder or timeout). */
async function retry<T>(waitMs: number, fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      const transient = isAppError(err) && (err.code === 'SERVICE_UNAVAILABLE' || err.code === 'TIMEOUT');
      if (!transient || Date.now() > deadline) throw err instanceof Error ? err : new AppError('INTERNAL', String(err));
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}
