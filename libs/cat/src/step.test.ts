import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { BankItem, CatConfig } from './config.ts';
import { catConfigSchema } from './config.ts';
import { prob3pl } from './irt.ts';
import { createRng } from './rng.ts';
import { estimateEap, estimateMle } from './estimate.ts';
import { estimateTheta } from './methods.ts';
import { UnknownItemError, exposureSelection, nextStep, thetaCutsOf } from './step.ts';
import { DEFAULT_THETA_CUTS, aStrata } from './strata.ts';
import type { HistoryEntry, NextStepResult } from './step.ts';

const SKILLS = ['alg', 'geo', 'num', 'stat'];

function makeBank(n: number, seed: string, withK = false): BankItem[] {
  const r = createRng(seed);
  return Array.from({ length: n }, (_, i) => ({
    id: `it-${i}`,
    skill: SKILLS[i % SKILLS.length] as string,
    a: 0.6 + r.next() * 1.4,
    b: r.normal(),
    c: 0.15 + r.next() * 0.1,
    ...(withK ? { exposureK: 0.3 + 0.7 * r.next() } : {}),
  }));
}

/** Run a whole test through nextStep, answering from the model at trueTheta. */
function runTest(
  bank: BankItem[],
  config: CatConfig,
  seed: string,
  trueTheta: number,
): { history: HistoryEntry[]; last: NextStepResult; steps: NextStepResult[] } {
  const r = createRng(`answers:${seed}`);
  const byId = new Map(bank.map((b) => [b.id, b]));
  const history: HistoryEntry[] = [];
  const steps: NextStepResult[] = [];
  for (let guard = 0; guard < 1000; guard++) {
    const res = nextStep({ bank, history, config, seed });
    steps.push(res);
    if (res.done) return { history, last: res, steps };
    const it = byId.get(res.itemId) as BankItem;
    history.push({ itemId: res.itemId, correct: r.next() < prob3pl(trueTheta, it.a, it.b, it.c) });
  }
  throw new Error('test did not stop');
}

const configArb: fc.Arbitrary<CatConfig> = fc
  .record({
    maxItems: fc.integer({ min: 4, max: 20 }),
    minFrac: fc.double({ min: 0, max: 1, noNaN: true }),
    seTarget: fc.option(fc.double({ min: 0.2, max: 0.8, noNaN: true }), { nil: undefined }),
    randomesque: fc.integer({ min: 1, max: 4 }),
    sympsonHetter: fc.boolean(),
    estimator: fc.constantFrom<'eap' | 'mle'>('eap', 'mle'),
    targets: fc.array(
      fc.record({
        share: fc.option(fc.double({ min: 0, max: 0.25, noNaN: true }), { nil: undefined }),
        min: fc.option(fc.integer({ min: 0, max: 3 }), { nil: undefined }),
        extraMax: fc.option(fc.integer({ min: 0, max: 6 }), { nil: undefined }),
      }),
      { minLength: 4, maxLength: 4 },
    ),
    useSkills: fc.boolean(),
  })
  .map((v) => {
    const cfg: CatConfig = {
      minItems: Math.floor(v.minFrac * v.maxItems),
      maxItems: v.maxItems,
      randomesque: v.randomesque,
      sympsonHetter: v.sympsonHetter,
      estimator: v.estimator,
    };
    if (v.seTarget !== undefined) cfg.seTarget = v.seTarget;
    if (v.useSkills) {
      const skills: NonNullable<CatConfig['skills']> = {};
      let minSum = 0;
      v.targets.forEach((t, i) => {
        const s: { share?: number; min?: number; max?: number } = {};
        if (t.share !== undefined) s.share = t.share;
        // Keep the minimums feasible within maxItems.
        const min = t.min !== undefined && minSum + t.min <= v.maxItems ? t.min : undefined;
        if (min !== undefined) {
          s.min = min;
          minSum += min;
        }
        if (t.extraMax !== undefined) s.max = (min ?? 0) + t.extraMax;
        skills[SKILLS[i] as string] = s;
      });
      cfg.skills = skills;
    }
    return cfg;
  });

describe('nextStep', () => {
  const bank = makeBank(120, 'bank', true);

  it('administers items, estimates θ and stops at maxItems', () => {
    const config: CatConfig = { minItems: 5, maxItems: 10 };
    const { history, last, steps } = runTest(bank, config, 'seed-1', 0.8);
    assert.equal(history.length, 10);
    assert.ok(last.done && last.reason === 'max_items');
    assert.ok(Number.isFinite(last.theta) && last.se > 0 && last.se < 1);
    const first = steps[0] as NextStepResult;
    assert.ok(!first.done && first.theta === 0 && first.se === 1);
  });

  it('stops on SE target only after minItems', () => {
    const config: CatConfig = { minItems: 6, maxItems: 30, seTarget: 0.9 };
    const { history, last } = runTest(bank, config, 'seed-2', 0);
    assert.equal(history.length, 6);
    assert.ok(last.done && last.reason === 'se_target');
  });

  it('stops on time limit and pool exhaustion', () => {
    const res = nextStep({ bank, history: [], config: { minItems: 1, maxItems: 5 }, seed: 's', timeRemainingS: 0 });
    assert.ok(res.done && res.reason === 'time_limit');
    const small = makeBank(3, 'small');
    const { last } = runTest(small, { minItems: 1, maxItems: 10 }, 's', 0);
    assert.ok(last.done && last.reason === 'pool_exhausted');
  });

  it('throws UnknownItemError for ids missing from the bank', () => {
    assert.throws(
      () => nextStep({ bank, history: [{ itemId: 'nope', correct: true }], config: { minItems: 1, maxItems: 5 }, seed: 's' }),
      UnknownItemError,
    );
  });

  it('property: valid configs; no item repeated; max never exceeded; mins met at the end', () => {
    fc.assert(
      fc.property(configArb, fc.string({ maxLength: 8 }), fc.double({ min: -3, max: 3, noNaN: true }), (config, seed, theta) => {
        assert.ok(catConfigSchema.safeParse(config).success, JSON.stringify(config));
        const { history, last } = runTest(bank, config, seed, theta);
        const ids = history.map((h) => h.itemId);
        assert.equal(new Set(ids).size, ids.length, 'repeated item');
        assert.ok(last.done);
        assert.ok(history.length <= config.maxItems);
        const counts = new Map<string, number>();
        const skillOf = new Map(bank.map((b) => [b.id, b.skill]));
        for (const [step, id] of ids.entries()) {
          const s = skillOf.get(id) as string;
          counts.set(s, (counts.get(s) ?? 0) + 1);
          const max = config.skills?.[s]?.max;
          if (max !== undefined) assert.ok((counts.get(s) ?? 0) <= max, `max exceeded for ${s} at step ${step}`);
        }
        if (last.reason !== 'pool_exhausted') {
          for (const [s, t] of Object.entries(config.skills ?? {})) {
            assert.ok((counts.get(s) ?? 0) >= (t.min ?? 0), `min not met for ${s}: ${counts.get(s) ?? 0} < ${t.min}`);
          }
        }
        if (last.reason === 'se_target') assert.ok(history.length >= config.minItems);
      }),
      { numRuns: 60 },
    );
  });

  it('property: deterministic — same seed and history give the same item', () => {
    fc.assert(
      fc.property(configArb, fc.string({ maxLength: 8 }), fc.integer({ min: 0, max: 8 }), (config, seed, n) => {
        const { seTarget: _unused, ...rest } = config;
        const { history } = runTest(bank, { ...rest, minItems: 0, maxItems: Math.max(config.maxItems, 9) }, seed, 0.3);
        const h = history.slice(0, n);
        const a = nextStep({ bank, history: h, config, seed });
        const b = nextStep({ bank: bank.slice(), history: h.map((x) => ({ ...x })), config: structuredClone(config), seed });
        assert.deepEqual(a, b);
      }),
      { numRuns: 40 },
    );
  });

  it('randomesque varies the first item across seeds but not for a fixed seed', () => {
    const config: CatConfig = { minItems: 1, maxItems: 5, randomesque: 5 };
    const firsts = new Set<string>();
    for (let s = 0; s < 40; s++) {
      const r = nextStep({ bank, history: [], config, seed: `k${s}` });
      assert.ok(!r.done);
      firsts.add(r.itemId);
      const again = nextStep({ bank, history: [], config, seed: `k${s}` });
      assert.deepEqual(again, r);
    }
    assert.ok(firsts.size > 1 && firsts.size <= 5);
  });
});

describe('history lookup', () => {
  const config: CatConfig = { minItems: 1, maxItems: 10 };

  it('an unknown id is an UnknownItemError naming it, on a bank seen for the first time and on a known one', () => {
    const fresh = makeBank(5, 'unknown');
    for (let call = 0; call < 3; call++) {
      assert.throws(
        () =>
          nextStep({
            bank: fresh,
            history: [
              { itemId: 'it-0', correct: true },
              { itemId: 'nope', correct: true },
            ],
            config,
            seed: 's',
          }),
        (e: unknown) =>
          e instanceof UnknownItemError &&
          e.name === 'UnknownItemError' &&
          e.itemId === 'nope' &&
          e.message === 'history references unknown item id: nope',
      );
      // Valid calls in between let the bank's id index be built and used.
      nextStep({ bank: fresh, history: [{ itemId: 'it-4', correct: true }], config, seed: 's' });
    }
  });

  it('the same history gives the same step on first sight, once indexed and after the bank changed in place', () => {
    const bank = makeBank(8, 'lookup');
    const history: HistoryEntry[] = [
      { itemId: 'it-6', correct: true },
      { itemId: 'it-2', correct: false },
    ];
    const expected = nextStep({ bank: makeBank(8, 'lookup'), history, config, seed: 's' });
    for (let call = 0; call < 3; call++) assert.deepEqual(nextStep({ bank, history, config, seed: 's' }), expected);
    // Swap two items in place: the index must follow the array, not the old positions.
    const [a, b] = [bank[2] as BankItem, bank[6] as BankItem];
    bank[2] = b;
    bank[6] = a;
    const swapped = [...bank];
    assert.deepEqual(nextStep({ bank, history, config, seed: 's' }), nextStep({ bank: swapped, history, config, seed: 's' }));
    // A duplicated id resolves to its first item every time.
    const dup = makeBank(6, 'dup');
    dup[4] = { ...(dup[4] as BankItem), id: 'it-1', a: 2.5, b: 2 };
    const dupHistory: HistoryEntry[] = [{ itemId: 'it-1', correct: false }];
    const first = nextStep({ bank: dup, history: dupHistory, config, seed: 's' });
    const withoutSecond = nextStep({ bank: dup.slice(0, 4), history: dupHistory, config: { minItems: 1, maxItems: 10 }, seed: 's' });
    assert.equal(first.theta, withoutSecond.theta);
    for (let call = 0; call < 2; call++) assert.deepEqual(nextStep({ bank: dup, history: dupHistory, config, seed: 's' }), first);
  });
});

describe('estimation settings', () => {
  const bank = makeBank(30, 'settings');
  const items = bank.slice(0, 6);
  const responses = [1, 0, 1, 1, 0, 1];
  const history: HistoryEntry[] = items.map((it, j) => ({ itemId: it.id, correct: responses[j] === 1 }));
  const base: CatConfig = { minItems: 1, maxItems: 20 };
  const prior = { mean: 0.8, sd: 0.6 };

  it('EAP, MAP, WLE and ML use the configured D and prior', () => {
    const theta = (config: CatConfig): number => nextStep({ bank, history, config, seed: 's' }).theta;
    const opts = { D: 1.702, prior };
    assert.equal(theta({ ...base, ...opts }), estimateEap(items, responses, opts).theta);
    assert.notEqual(theta({ ...base, D: 1.702 }), theta(base));
    for (const method of ['MAP', 'WLE'] as const) {
      assert.equal(theta({ ...base, ...opts, method }), estimateTheta(method, items, responses, opts).theta);
    }
    assert.equal(theta({ ...base, D: 1.702, method: 'ML' }), estimateMle(items, responses, { D: 1.702 }).theta);
    assert.equal(theta({ ...base, D: 1.702, estimator: 'mle' }), estimateMle(items, responses, { D: 1.702 }).theta);
    assert.equal(theta({ ...base, D: 1.702, estimator: 'eap' }), estimateEap(items, responses, { D: 1.702 }).theta);
  });

  it('ML on polytomous items uses the named ML with D; an all-wrong or all-top pattern uses EAP', () => {
    const poly: BankItem[] = bank.slice(0, 4).map((it, j) => ({ ...it, poly: { model: 'GPCM', a: 1 + j * 0.2, b: [-0.5, 0.5] } }));
    const polyHistory: HistoryEntry[] = [0, 2, 1, 1].map((category, j) => ({
      itemId: (poly[j] as BankItem).id,
      correct: category > 0,
      category,
    }));
    const models = poly.map((it) => it.poly as NonNullable<BankItem['poly']>);
    const got = nextStep({ bank: poly, history: polyHistory, config: { minItems: 1, maxItems: 4, D: 1.702, method: 'ML' }, seed: 's' });
    assert.equal(got.theta, estimateTheta('ML', models, [0, 2, 1, 1], { D: 1.702 }).theta);
    for (const correct of [false, true]) {
      const extreme = items.map((it) => ({ itemId: it.id, correct }));
      const ml = nextStep({ bank, history: extreme, config: { ...base, method: 'ML' }, seed: 's' });
      const eap = estimateEap(
        items,
        items.map(() => (correct ? 1 : 0)),
      );
      assert.equal(ml.theta, eap.theta);
      assert.ok(Math.abs(ml.theta) < 3);
    }
  });

  it('with a classification rule every step carries its decision, computed with the configured D', () => {
    const rule = { rule: 'SPRT' as const, cutTheta: 0, delta: 0.3, alpha: 0.05, beta: 0.05 };
    const sprtBank: BankItem[] = Array.from({ length: 12 }, (_, i) => ({ id: `s${i}`, skill: 's', a: 1.2, b: -0.5 + i * 0.1, c: 0.1 }));
    const eight: HistoryEntry[] = sprtBank.slice(0, 8).map((it) => ({ itemId: it.id, correct: true }));
    const config: CatConfig = { minItems: 1, maxItems: 12, classification: rule };
    assert.equal(nextStep({ bank: sprtBank, history: [], config, seed: 's' }).decision, 'undecided');
    const d1 = nextStep({ bank: sprtBank, history: eight, config, seed: 's' });
    assert.equal(d1.decision, 'undecided');
    assert.equal(d1.done, false);
    const d17 = nextStep({ bank: sprtBank, history: eight, config: { ...config, D: 1.702 }, seed: 's' });
    assert.equal(d17.decision, 'pass');
    assert.ok(d17.done && d17.reason === 'classified');
    assert.equal(nextStep({ bank: sprtBank, history: eight, config: { minItems: 1, maxItems: 12 }, seed: 's' }).decision, undefined);
  });

  it('the θ cuts are the configured ones or the default; a-strata are cut without b-blocking unless asked', () => {
    assert.deepEqual(thetaCutsOf({}), DEFAULT_THETA_CUTS);
    assert.deepEqual(thetaCutsOf({ conditionalSympsonHetter: {} }), DEFAULT_THETA_CUTS);
    assert.deepEqual(thetaCutsOf({ conditionalSympsonHetter: { cuts: [-1, 1] } }), [-1, 1]);
    const strat = (bBlocking?: boolean): Int32Array | undefined =>
      exposureSelection(
        { minItems: 1, maxItems: 6, aStratification: { strata: 3, ...(bBlocking === undefined ? {} : { bBlocking }) } },
        bank,
        0,
        0,
      ).aStratified?.stratumOf;
    assert.deepEqual(strat(), aStrata(bank, 3, false));
    assert.deepEqual(strat(false), aStrata(bank, 3, false));
    assert.deepEqual(strat(true), aStrata(bank, 3, true));
    assert.notDeepEqual([...aStrata(bank, 3, true)], [...aStrata(bank, 3, false)]);
  });
});
