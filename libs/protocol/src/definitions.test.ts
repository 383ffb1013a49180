import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { z } from 'zod';
import { accommodationsSchema, callerSchema, idSchema, optionSchema, testIdSchema } from './common.ts';
import {
  classificationSchema,
  defaultPolyModel,
  itemSchema,
  practiceSchema,
  skillTargetSchema,
  testDefinitionSchema,
} from './definitions.ts';
import { TOKEN_AUDIENCE, TOKEN_ISSUER, tokenClaimsSchema } from './tokens.ts';

/** The issues of a refused input as `path: message`, or fails when the input is accepted. */
function refusal(schema: z.ZodType, input: unknown): string[] {
  const r = schema.safeParse(input);
  assert.equal(r.success, false, `accepted ${JSON.stringify(input)}`);
  return r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
}

function parsed(schema: z.ZodType, input: unknown): unknown {
  const r = schema.safeParse(input);
  assert.ok(r.success, `refused ${JSON.stringify(input)}: ${r.error?.message ?? ''}`);
  return r.data;
}

const options = [
  { id: 'a', text: 'two' },
  { id: 'b', text: 'three' },
];

describe('ids', () => {
  test('an id has 1 to 64 letters, digits, "-" or "_"', () => {
    for (const id of ['a', 'A-z_09', 'x'.repeat(64)]) assert.equal(parsed(idSchema, id), id);
    for (const id of ['', 'x'.repeat(65), 'a b', 'a.b', 'é', 'a/b']) refusal(idSchema, id);
    assert.deepEqual(refusal(idSchema, 'a.b'), [': must contain only letters, digits, "-" and "_"']);
    // The pattern is anchored at both ends.
    refusal(idSchema, '.ab');
    refusal(idSchema, 'ab.');
  });

  test('a test id may be a non-negative safe integer, which becomes its decimal string', () => {
    assert.equal(parsed(testIdSchema, 'demo'), 'demo');
    assert.equal(parsed(testIdSchema, 0), '0');
    assert.equal(parsed(testIdSchema, 123), '123');
    assert.equal(parsed(testIdSchema, Number.MAX_SAFE_INTEGER), String(Number.MAX_SAFE_INTEGER));
    for (const bad of [-1, 1.5, Number.MAX_SAFE_INTEGER + 2, 'x'.repeat(65), null]) refusal(testIdSchema, bad);
  });
});

describe('accommodations and callers', () => {
  test('accommodations default to none and stay within 1-4× and 0-4 h', () => {
    assert.deepEqual(parsed(accommodationsSchema, {}), { time_multiplier: 1, extra_seconds: 0 });
    assert.deepEqual(parsed(accommodationsSchema, { time_multiplier: 4, extra_seconds: 14_400 }), {
      time_multiplier: 4,
      extra_seconds: 14_400,
    });
    assert.deepEqual(parsed(accommodationsSchema, { time_multiplier: 1.5 }), { time_multiplier: 1.5, extra_seconds: 0 });
    for (const bad of [
      { time_multiplier: 0.99 },
      { time_multiplier: 4.01 },
      { extra_seconds: -1 },
      { extra_seconds: 14_401 },
      { extra_seconds: 1.5 },
      { extra: 1 },
    ])
      refusal(accommodationsSchema, bad);
  });

  test('a caller keeps its fields and accommodations get their defaults', () => {
    const caller = { user_id: 'u1', role: 'candidate', tests: ['t1'], application_id: 'app1', name: 'Ada', accommodations: {} };
    assert.deepEqual(parsed(callerSchema, caller), { ...caller, accommodations: { time_multiplier: 1, extra_seconds: 0 } });
    for (const role of ['candidate', 'proctor', 'recruiter', 'admin']) parsed(callerSchema, { user_id: 'u', role });
    refusal(callerSchema, { user_id: 'u', role: 'root' });
    refusal(callerSchema, { user_id: 'u', role: 'admin', name: 'x'.repeat(255) });
    parsed(callerSchema, { user_id: 'u', role: 'admin', name: 'x'.repeat(254) });
  });

  test('an option has an id of 1-16 characters and a text of 1-2000', () => {
    assert.deepEqual(parsed(optionSchema, { id: 'x'.repeat(16), text: 't'.repeat(2000) }), { id: 'x'.repeat(16), text: 't'.repeat(2000) });
    for (const bad of [
      { id: '', text: 't' },
      { id: 'x'.repeat(17), text: 't' },
      { id: 'a', text: '' },
      { id: 'a', text: 't'.repeat(2001) },
    ])
      refusal(optionSchema, bad);
  });
});

describe('token claims', () => {
  test('issuer and audience are fixed', () => {
    assert.equal(TOKEN_ISSUER, 'assessment-platform/auth');
    assert.equal(TOKEN_AUDIENCE, 'assessment-platform');
  });

  test('claims keep every field and need sub, role and an integer exp', () => {
    const claims = {
      sub: 'u1',
      role: 'candidate',
      tests: ['t1'],
      app: 'app1',
      name: 'Ada',
      re_sign_in: true,
      accommodations: { time_multiplier: 2 },
      exp: 1_800_000_000,
      iat: 1_700_000_000,
      jti: 'j1',
    };
    assert.deepEqual(parsed(tokenClaimsSchema, claims), { ...claims, accommodations: { time_multiplier: 2, extra_seconds: 0 } });
    assert.deepEqual(parsed(tokenClaimsSchema, { sub: 'u1', role: 'admin', exp: 1 }), { sub: 'u1', role: 'admin', exp: 1 });
    for (const bad of [
      { role: 'admin', exp: 1 },
      { sub: 'u1', exp: 1 },
      { sub: 'u1', role: 'admin' },
      { sub: 'u1', role: 'admin', exp: 1.5 },
      { sub: 'u1', role: 'admin', exp: 1, iat: 1.5 },
      { sub: 'u 1', role: 'admin', exp: 1 },
      { sub: 'u1', role: 'admin', exp: 1, tests: ['t 1'] },
      { sub: 'u1', role: 'admin', exp: 1, app: 'x'.repeat(65) },
      { sub: 'u1', role: 'admin', exp: 1, name: 'x'.repeat(255) },
      { sub: 'u1', role: 'admin', exp: 1, re_sign_in: 'yes' },
      { sub: 'u1', role: 'admin', exp: 1, jti: 7 },
      { sub: 'u1', role: 'admin', exp: 1, accommodations: { time_multiplier: 5 } },
    ])
      refusal(tokenClaimsSchema, bad);
  });
});

describe('items', () => {
  const item = { id: 'q1', skill: 'arithmetic', stem: '1 + 1 = ?', options, key: 'a' };

  test('an item gets its type and keeps its optional fields', () => {
    assert.deepEqual(parsed(itemSchema, item), { ...item, type: 'single_choice' });
    const full = { ...item, type: 'single_choice', difficulty: 'hard', a: 10, b: -10, c: 0, clarification: 'c'.repeat(2000) };
    assert.deepEqual(parsed(itemSchema, full), full);
    for (const difficulty of ['easy', 'medium', 'hard']) parsed(itemSchema, { ...item, difficulty });
    parsed(itemSchema, { ...item, b: 10, c: 0.999, a: 0.001 });
    parsed(itemSchema, { ...item, options: Array.from({ length: 10 }, (_, i) => ({ id: `o${String(i)}`, text: 't' })), key: 'o9' });
    parsed(itemSchema, {
      ...item,
      skill: 's'.repeat(64),
      stem: 's'.repeat(10_000),
      key: 'k'.repeat(16),
      options: [...options, { id: 'k'.repeat(16), text: 't' }],
    });
  });

  test('an item is refused outside its bounds', () => {
    for (const bad of [
      { ...item, id: 'x'.repeat(65) },
      { ...item, skill: '' },
      { ...item, skill: 's'.repeat(65) },
      { ...item, type: 'likert_scale' },
      { ...item, stem: '' },
      { ...item, stem: 's'.repeat(10_001) },
      { ...item, options: [options[0]] },
      { ...item, options: Array.from({ length: 11 }, (_, i) => ({ id: `o${String(i)}`, text: 't' })), key: 'o1' },
      { ...item, key: '' },
      { ...item, difficulty: 'trivial' },
      { ...item, a: 0 },
      { ...item, a: 10.01 },
      { ...item, b: -10.01 },
      { ...item, b: 10.01 },
      { ...item, c: -0.01 },
      { ...item, c: 1 },
      { ...item, clarification: 'c'.repeat(2001) },
      { ...item, answer: 'a' },
    ])
      refusal(itemSchema, bad);
  });

  test('cross-field refusals are custom issues', () => {
    const codes = (input: unknown) => itemSchema.safeParse(input).error?.issues.map((i) => i.code);
    assert.deepEqual(codes({ ...item, key: 'z' }), ['custom']);
  });

  test('option ids are unique and the key is one of them', () => {
    assert.deepEqual(refusal(itemSchema, { ...item, key: 'z' }), ['key: key "z" is not one of the option ids']);
    assert.deepEqual(refusal(itemSchema, { ...item, options: [options[0], { id: 'a', text: 'again' }] }), [
      'options: option ids must be unique',
    ]);
  });
});

describe('practice questions and skill targets', () => {
  test('a practice answer is one of its options', () => {
    const practice = { stem: 'Pick a', options, answer: 'a' };
    assert.deepEqual(parsed(practiceSchema, practice), practice);
    assert.deepEqual(refusal(practiceSchema, { ...practice, answer: 'z' }), ['answer: answer is not one of the option ids']);
    for (const bad of [
      { ...practice, stem: '' },
      { ...practice, stem: 's'.repeat(2001) },
      { ...practice, options: [options[0]] },
      { ...practice, answer: '' },
      { ...practice, answer: 'x'.repeat(17) },
      { ...practice, extra: 1 },
    ])
      refusal(practiceSchema, bad);
    parsed(practiceSchema, { ...practice, stem: 's'.repeat(2000) });
    parsed(practiceSchema, { stem: 's', options: [...options, { id: 'x'.repeat(16), text: 't' }], answer: 'x'.repeat(16) });
  });

  test('a skill target has a share in [0, 1] and integer counts', () => {
    const target = { name: 'algebra', share: 1, min: 0, max: 1 };
    assert.deepEqual(parsed(skillTargetSchema, target), target);
    assert.deepEqual(parsed(skillTargetSchema, { name: 'n'.repeat(64), share: 0 }), { name: 'n'.repeat(64), share: 0 });
    for (const bad of [
      { name: '' },
      { name: 'n'.repeat(65) },
      { name: 'a', share: -0.1 },
      { name: 'a', share: 1.1 },
      { name: 'a', min: -1 },
      { name: 'a', min: 0.5 },
      { name: 'a', max: 0 },
      { name: 'a', extra: 1 },
    ])
      refusal(skillTargetSchema, bad);
  });
});

describe('classification', () => {
  test('SPRT and CI get their default error rates and delta', () => {
    assert.deepEqual(parsed(classificationSchema, { rule: 'SPRT', cut_theta: 0 }), {
      rule: 'SPRT',
      cut_theta: 0,
      delta: 0.3,
      alpha: 0.05,
      beta: 0.05,
    });
    assert.deepEqual(parsed(classificationSchema, { rule: 'CI', cut_score: 60 }), { rule: 'CI', cut_score: 60, alpha: 0.05 });
    const sprt = { rule: 'SPRT', cut_score: -3, delta: 2, alpha: 0.49, beta: 0.001 };
    assert.deepEqual(parsed(classificationSchema, sprt), sprt);
    assert.deepEqual(parsed(classificationSchema, { rule: 'CI', cut_theta: 6, alpha: 0.2 }), { rule: 'CI', cut_theta: 6, alpha: 0.2 });
    parsed(classificationSchema, { rule: 'CI', cut_theta: -6 });
  });

  test('exactly one cut is given', () => {
    for (const rule of ['SPRT', 'CI']) {
      assert.deepEqual(refusal(classificationSchema, { rule }), ['cut_theta: give exactly one of cut_theta and cut_score']);
      assert.deepEqual(refusal(classificationSchema, { rule, cut_theta: 0, cut_score: 50 }), [
        'cut_theta: give exactly one of cut_theta and cut_score',
      ]);
    }
  });

  test('bounds of cuts, delta and error rates', () => {
    for (const bad of [
      { rule: 'SPRT', cut_theta: 6.1 },
      { rule: 'SPRT', cut_theta: -6.1 },
      { rule: 'SPRT', cut_theta: 0, delta: 0 },
      { rule: 'SPRT', cut_theta: 0, delta: 2.1 },
      { rule: 'SPRT', cut_theta: 0, alpha: 0 },
      { rule: 'SPRT', cut_theta: 0, alpha: 0.5 },
      { rule: 'SPRT', cut_theta: 0, beta: 0 },
      { rule: 'SPRT', cut_theta: 0, beta: 0.5 },
      { rule: 'CI', cut_theta: 0, alpha: 0.5 },
      { rule: 'CI', cut_theta: 0, delta: 0.3 },
      { rule: 'SPRT', cut_theta: 0, extra: 1 },
      { rule: 'BAYES', cut_theta: 0 },
    ])
      refusal(classificationSchema, bad);
  });
});

describe('test definitions', () => {
  const minimal = { title: 'Arithmetic', time_limit_s: 600, strategy: 'fixed', items: ['q1', 'q2'] };
  const defaults = {
    description: '',
    skills: [],
    stopping: {},
    scoring: { slope: 15, intercept: 50, min: 0, max: 100 },
    feedback: { show_correctness: false, show_score: true },
    exposure: { randomesque: 1, sympson_hetter: false },
    on_expiry: 'autosubmit',
    grace_s: 0,
    time_warnings_s: [300, 60],
    re_sign_in: 'allow',
    proctored: false,
    start_requires_approval: false,
  };

  test('a minimal definition gets every default', () => {
    assert.deepEqual(parsed(testDefinitionSchema, minimal), { ...minimal, ...defaults });
  });

  test('nested objects get their own defaults when partly given', () => {
    const d = parsed(testDefinitionSchema, { ...minimal, scoring: { slope: 100 }, feedback: {}, exposure: { randomesque: 5 } });
    assert.deepEqual(d, {
      ...minimal,
      ...defaults,
      scoring: { slope: 100, intercept: 50, min: 0, max: 100 },
      feedback: { show_correctness: false, show_score: true },
      exposure: { randomesque: 5, sympson_hetter: false },
    });
  });

  test('a full definition is kept as given', () => {
    const full = {
      id: 'adaptive-1',
      title: 't'.repeat(200),
      description: 'd'.repeat(5000),
      time_limit_s: 24 * 3600,
      strategy: 'adaptive',
      items: ['q1', 'q2'],
      skills: [{ name: 'algebra', share: 0.5 }],
      stopping: { min_items: 5, max_items: 20, se_target: 0.3 },
      scoring: { slope: 100, intercept: 500, min: 200, max: 800 },
      feedback: { show_correctness: true, show_score: false },
      estimator: 'WLE',
      exposure: { randomesque: 50, sympson_hetter: true },
      on_expiry: 'grace',
      grace_s: 30,
      time_warnings_s: [600],
      abandon_after_s: 900,
      re_sign_in: 'approve',
      proctored: true,
      start_requires_approval: true,
      practice: { stem: 'Pick a', options, answer: 'a' },
      classification: { rule: 'CI', cut_theta: 0.5, alpha: 0.1 },
      pretest: { items: ['p1'], rate: 1, max_per_assessment: 20 },
    };
    assert.deepEqual(parsed(testDefinitionSchema, full), full);
    for (const strategy of ['fixed', 'random', 'adaptive']) parsed(testDefinitionSchema, { ...minimal, strategy });
    for (const on_expiry of ['autosubmit', 'grace']) parsed(testDefinitionSchema, { ...minimal, on_expiry });
    for (const re_sign_in of ['allow', 'approve']) parsed(testDefinitionSchema, { ...minimal, re_sign_in });
    for (const estimator of ['EAP', 'MAP', 'ML', 'WLE']) parsed(testDefinitionSchema, { ...minimal, estimator });
    parsed(testDefinitionSchema, { ...minimal, time_limit_s: 10, items: Array.from({ length: 20_000 }, (_, i) => `q${String(i)}`) });
    parsed(testDefinitionSchema, { ...minimal, time_warnings_s: Array.from({ length: 10 }, (_, i) => i + 1) });
  });

  test('pretest gets its rate and per-assessment cap', () => {
    const d = parsed(testDefinitionSchema, { ...minimal, pretest: { items: ['p1', 'p2'] } }) as { pretest: unknown };
    assert.deepEqual(d.pretest, { items: ['p1', 'p2'], rate: 0.2, max_per_assessment: 2 });
    parsed(testDefinitionSchema, { ...minimal, pretest: { items: ['p1'], rate: 0, max_per_assessment: 1 } });
    parsed(testDefinitionSchema, { ...minimal, pretest: { items: Array.from({ length: 500 }, (_, i) => `p${String(i)}`) } });
  });

  test('a definition is refused outside its bounds', () => {
    for (const bad of [
      { ...minimal, title: '' },
      { ...minimal, title: 't'.repeat(201) },
      { ...minimal, description: 'd'.repeat(5001) },
      { ...minimal, time_limit_s: 9 },
      { ...minimal, time_limit_s: 24 * 3600 + 1 },
      { ...minimal, time_limit_s: 60.5 },
      { ...minimal, strategy: 'linear' },
      { ...minimal, items: [] },
      { ...minimal, items: Array.from({ length: 20_001 }, (_, i) => `q${String(i)}`) },
      { ...minimal, items: ['q 1'] },
      { ...minimal, id: 'x'.repeat(65) },
      { ...minimal, stopping: { min_items: 0 } },
      { ...minimal, stopping: { max_items: 1.5 } },
      { ...minimal, stopping: { se_target: 0 } },
      { ...minimal, stopping: { extra: 1 } },
      { ...minimal, scoring: { slope: 'steep' } },
      { ...minimal, scoring: { extra: 1 } },
      { ...minimal, feedback: { show_correctness: 'yes' } },
      { ...minimal, feedback: { extra: true } },
      { ...minimal, estimator: 'MLE' },
      { ...minimal, exposure: { randomesque: 0 } },
      { ...minimal, exposure: { randomesque: 51 } },
      { ...minimal, exposure: { extra: 1 } },
      { ...minimal, on_expiry: 'discard' },
      { ...minimal, grace_s: -1 },
      { ...minimal, grace_s: 1.5 },
      { ...minimal, time_warnings_s: [0] },
      { ...minimal, time_warnings_s: Array.from({ length: 11 }, (_, i) => i + 1) },
      { ...minimal, abandon_after_s: 0 },
      { ...minimal, re_sign_in: 'deny' },
      { ...minimal, proctored: 'yes' },
      { ...minimal, start_requires_approval: 1 },
      { ...minimal, pretest: { items: [] } },
      { ...minimal, pretest: { items: Array.from({ length: 501 }, (_, i) => `p${String(i)}`) } },
      { ...minimal, pretest: { items: ['p1'], rate: -0.1 } },
      { ...minimal, pretest: { items: ['p1'], rate: 1.1 } },
      { ...minimal, pretest: { items: ['p1'], max_per_assessment: 0 } },
      { ...minimal, pretest: { items: ['p1'], max_per_assessment: 21 } },
      { ...minimal, pretest: { items: ['p1'], extra: 1 } },
      { ...minimal, extra: 1 },
    ])
      refusal(testDefinitionSchema, bad);
  });

  test('classification needs an adaptive test', () => {
    const classification = { rule: 'SPRT', cut_theta: 0 };
    assert.deepEqual(
      testDefinitionSchema.safeParse({ ...minimal, classification }).error?.issues.map((i) => i.code),
      ['custom'],
    );
    for (const strategy of ['fixed', 'random'])
      assert.deepEqual(refusal(testDefinitionSchema, { ...minimal, strategy, classification }), [
        'classification: classification needs strategy adaptive',
      ]);
    parsed(testDefinitionSchema, { ...minimal, strategy: 'adaptive', classification });
  });

  test('pretest items are outside the scored pool and unique', () => {
    assert.deepEqual(refusal(testDefinitionSchema, { ...minimal, pretest: { items: ['p1', 'q2'] } }), [
      'pretest.items: pretest items are not in the scored pool: q2',
    ]);
    const pool = Array.from({ length: 7 }, (_, i) => `q${String(i)}`);
    assert.deepEqual(refusal(testDefinitionSchema, { ...minimal, items: pool, pretest: { items: pool } }), [
      'pretest.items: pretest items are not in the scored pool: q0, q1, q2, q3, q4',
    ]);
    for (const pretest of [{ items: ['p1', 'q2'] }, { items: ['p1', 'p1'] }])
      assert.deepEqual(
        testDefinitionSchema.safeParse({ ...minimal, pretest }).error?.issues.map((i) => i.code),
        ['custom'],
      );
    assert.deepEqual(refusal(testDefinitionSchema, { ...minimal, pretest: { items: ['p1', 'p1'] } }), [
      'pretest.items: pretest item ids must be unique',
    ]);
  });
});

describe('likert and partial-credit items', () => {
  const categories = [
    { id: 'a', text: 'never' },
    { id: 'b', text: 'sometimes' },
    { id: 'c', text: 'often' },
  ];
  const likert = { id: 'l1', skill: 'attitude', type: 'likert', stem: 'I plan ahead', options: categories };

  test('the default model is GPCM for partial credit and GRM otherwise', () => {
    assert.equal(defaultPolyModel('partial_credit'), 'GPCM');
    assert.equal(defaultPolyModel('likert'), 'GRM');
    assert.equal(defaultPolyModel('single_choice'), 'GRM');
  });

  test('a polytomous item has no key, b or c, and one threshold per category above 0', () => {
    assert.deepEqual(parsed(itemSchema, { ...likert, model: 'GRM', thresholds: [-1, 1] }), {
      ...likert,
      model: 'GRM',
      thresholds: [-1, 1],
    });
    parsed(itemSchema, { ...likert, type: 'partial_credit', model: 'GPCM', thresholds: [1, -1] });
    // GPCM thresholds may go down; a partial-credit item is GPCM unless it says otherwise.
    parsed(itemSchema, { ...likert, type: 'partial_credit', thresholds: [1, -1] });
    for (const f of ['key', 'b', 'c'] as const)
      assert.deepEqual(refusal(itemSchema, { ...likert, [f]: f === 'key' ? 'a' : 0.1 }), [
        `${f}: a likert item has no ${f} (its options are ordered categories)`,
      ]);
    assert.deepEqual(refusal(itemSchema, { ...likert, thresholds: [0] }), ['thresholds: 3 options need 2 thresholds, got 1']);
    assert.deepEqual(refusal(itemSchema, { ...likert, thresholds: [0, 0] }), ['thresholds: GRM thresholds must increase']);
    assert.deepEqual(refusal(itemSchema, { ...likert, model: 'GRM', type: 'partial_credit', thresholds: [1, 0.5] }), [
      'thresholds: GRM thresholds must increase',
    ]);
    // The first threshold has no predecessor to compare with.
    parsed(itemSchema, { ...likert, thresholds: [-10, 10] });
  });

  test('a single-choice item needs a key and takes no model or thresholds', () => {
    const single = { id: 'q1', skill: 's', stem: 'x', options: categories };
    assert.deepEqual(refusal(itemSchema, single), ['key: a single_choice item needs a key']);
    assert.deepEqual(refusal(itemSchema, { ...single, key: 'a', model: 'GRM' }), ['model: model is for likert and partial_credit items']);
    assert.deepEqual(refusal(itemSchema, { ...single, key: 'a', thresholds: [0, 1] }), [
      'thresholds: thresholds is for likert and partial_credit items',
    ]);
  });
});
