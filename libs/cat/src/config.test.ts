import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_A_STRATA, MAX_THETA_STRATA, bankItemSchema, catConfigSchema } from './config.ts';

const base = { minItems: 2, maxItems: 10 };
const accepts = (config: object): void => {
  const r = catConfigSchema.safeParse({ ...base, ...config });
  assert.ok(r.success, `${JSON.stringify(config)}: ${JSON.stringify(r.error?.issues)}`);
};
/** The issues of a refused configuration as `path: message`. */
const issues = (config: object): string[] => {
  const r = catConfigSchema.safeParse({ ...base, ...config });
  assert.ok(!r.success, `${JSON.stringify(config)} accepted`);
  return r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
};
const refuses = (config: object, path: string): void => {
  const found = issues(config);
  assert.ok(
    found.some((i) => i.startsWith(`${path}:`)),
    `${JSON.stringify(config)}: ${found.join('; ')}`,
  );
};

describe('CAT configuration schema', () => {
  it('takes each field at its bounds and refuses it just beyond', () => {
    accepts({});
    accepts({ D: 5, prior: { mean: -10, sd: 100 }, startTheta: 10, randomesque: 1, seTarget: 0.01 });
    accepts({ prior: { mean: 10, sd: 1e-3 }, startTheta: -10, minItems: 0, maxItems: 1 });
    refuses({ D: 0 }, 'D');
    refuses({ D: 5.01 }, 'D');
    refuses({ prior: { mean: 10.1, sd: 1 } }, 'prior.mean');
    refuses({ prior: { mean: -10.1, sd: 1 } }, 'prior.mean');
    refuses({ prior: { mean: 0, sd: 0 } }, 'prior.sd');
    refuses({ prior: { mean: 0, sd: 100.1 } }, 'prior.sd');
    refuses({ prior: { mean: 0, sd: 1, extra: 1 } }, 'prior');
    refuses({ estimator: 'map' }, 'estimator');
    for (const estimator of ['eap', 'mle']) accepts({ estimator });
    for (const method of ['EAP', 'MAP', 'ML', 'WLE']) accepts({ method });
    refuses({ method: 'eap' }, 'method');
    refuses({ randomesque: 0 }, 'randomesque');
    refuses({ randomesque: 1.5 }, 'randomesque');
    refuses({ minItems: -1 }, 'minItems');
    refuses({ minItems: 0, maxItems: 0 }, 'maxItems');
    refuses({ maxItems: 2.5 }, 'maxItems');
    refuses({ seTarget: 0 }, 'seTarget');
    refuses({ startTheta: 10.5 }, 'startTheta');
    refuses({ startTheta: -10.5 }, 'startTheta');
    refuses({ sympsonHetter: 'yes' }, 'sympsonHetter');
    refuses({ unknown: 1 }, '');
  });

  it('checks skill targets: share in [0, 1], whole min and max with min ≤ max, shares summing to at most 1, minimums to at most maxItems', () => {
    accepts({ skills: { algebra: { share: 0.6, min: 1, max: 1 }, geometry: { share: 0.4, min: 0 } } });
    accepts({ skills: { algebra: { share: 1 }, geometry: { share: 0 } } });
    accepts({ skills: { a: { share: 0.1 }, b: { share: 0.2 }, c: { share: 0.7 } } });
    accepts({ skills: { algebra: { min: 6 }, geometry: { min: 4 } } });
    refuses({ skills: { algebra: { share: 1.01 } } }, 'skills.algebra.share');
    refuses({ skills: { algebra: { share: -0.01 } } }, 'skills.algebra.share');
    refuses({ skills: { algebra: { min: -1 } } }, 'skills.algebra.min');
    refuses({ skills: { algebra: { max: 1.5 } } }, 'skills.algebra.max');
    refuses({ skills: { algebra: { max: -1 } } }, 'skills.algebra.max');
    refuses({ skills: { '': { share: 0.5 } } }, 'skills.');
    refuses({ skills: { algebra: { share: 0.5, weight: 1 } } }, 'skills.algebra');
    assert.deepEqual(issues({ skills: { algebra: { min: 3, max: 2 } } }), ['skills.algebra.min: min must not exceed max']);
    assert.deepEqual(issues({ skills: { algebra: { share: 0.6 }, geometry: { share: 0.41 } } }), [
      'skills: skill shares sum to more than 1',
    ]);
    assert.deepEqual(issues({ skills: { algebra: { min: 6 }, geometry: { min: 5 } } }), [
      'skills: skill minimums add up to more than maxItems',
    ]);
  });

  it('refuses minItems above maxItems, both kinds of Sympson–Hetter at once, and more a-strata than items', () => {
    accepts({ minItems: 10, maxItems: 10 });
    assert.deepEqual(issues({ minItems: 11, maxItems: 10 }), ['minItems: minItems must not exceed maxItems']);
    accepts({ sympsonHetter: false, conditionalSympsonHetter: {} });
    accepts({ sympsonHetter: true });
    assert.deepEqual(issues({ sympsonHetter: true, conditionalSympsonHetter: {} }), [
      'conditionalSympsonHetter: use either sympsonHetter or conditionalSympsonHetter',
    ]);
    accepts({ aStratification: { strata: 10 } });
    accepts({ aStratification: { strata: 2, bBlocking: true } });
    assert.deepEqual(issues({ aStratification: { strata: 11 } }), ['aStratification.strata: more a-strata than maxItems']);
    refuses({ aStratification: { strata: 1 } }, 'aStratification.strata');
    refuses({ aStratification: { strata: 2.5 } }, 'aStratification.strata');
    accepts({ maxItems: MAX_A_STRATA, aStratification: { strata: MAX_A_STRATA } });
    refuses({ maxItems: MAX_A_STRATA + 1, aStratification: { strata: MAX_A_STRATA + 1 } }, 'aStratification.strata');
  });

  it('takes conditional Sympson–Hetter cuts that increase, within ±10, up to 49 of them', () => {
    accepts({ conditionalSympsonHetter: { cuts: [0] } });
    accepts({ conditionalSympsonHetter: { cuts: [-10, 10] } });
    const most = Array.from({ length: MAX_THETA_STRATA - 1 }, (_, k) => -9 + (18 * k) / (MAX_THETA_STRATA - 2));
    accepts({ conditionalSympsonHetter: { cuts: most } });
    refuses({ conditionalSympsonHetter: { cuts: [...most, 9.5] } }, 'conditionalSympsonHetter.cuts');
    refuses({ conditionalSympsonHetter: { cuts: [] } }, 'conditionalSympsonHetter.cuts');
    refuses({ conditionalSympsonHetter: { cuts: [-10.5] } }, 'conditionalSympsonHetter.cuts.0');
    refuses({ conditionalSympsonHetter: { cuts: [10.5] } }, 'conditionalSympsonHetter.cuts.0');
    assert.deepEqual(issues({ conditionalSympsonHetter: { cuts: [0, 0] } }), ['conditionalSympsonHetter.cuts: cuts must increase']);
    assert.deepEqual(issues({ conditionalSympsonHetter: { cuts: [1, 0.5] } }), ['conditionalSympsonHetter.cuts: cuts must increase']);
  });

  it('takes a classification rule', () => {
    accepts({ classification: { rule: 'SPRT', cutTheta: 0, delta: 0.3, alpha: 0.05, beta: 0.1 } });
    accepts({ classification: { rule: 'CI', cutTheta: -1, alpha: 0.05 } });
    refuses({ classification: { rule: 'CI', cutTheta: 0, alpha: 0.5 } }, 'classification.alpha');
  });
});

describe('bank item schema', () => {
  const item = { id: 'q1', skill: 'algebra', a: 1, b: 0, c: 0 };
  const ok = (extra: object): boolean => bankItemSchema.safeParse({ ...item, ...extra }).success;

  it('takes a, b, c and the exposure parameters within their bounds and nothing beyond', () => {
    assert.ok(ok({}));
    assert.ok(ok({ a: 10, b: 10, c: 0.99, stem: 'extra fields are allowed' }));
    assert.ok(ok({ b: -10, exposureK: 0 }));
    assert.ok(ok({ exposureK: 1, exposureKByStratum: [0, 1] }));
    assert.ok(ok({ exposureKByStratum: new Array<number>(MAX_THETA_STRATA).fill(0.5) }));
    for (const bad of [
      { id: '' },
      { skill: '' },
      { a: 0 },
      { a: 10.01 },
      { b: 10.01 },
      { b: -10.01 },
      { c: -0.01 },
      { c: 1 },
      { exposureK: 1.01 },
      { exposureK: -0.01 },
      { exposureKByStratum: [] },
      { exposureKByStratum: [1.5] },
      { exposureKByStratum: [-0.5] },
      { exposureKByStratum: new Array<number>(MAX_THETA_STRATA + 1).fill(0.5) },
    ])
      assert.equal(ok(bad), false, JSON.stringify(bad));
  });

  it('takes GRM items with increasing thresholds and GPCM items with any steps', () => {
    assert.ok(ok({ poly: { model: 'GRM', a: 10, b: [-10, 0, 10] } }));
    assert.ok(ok({ poly: { model: 'GPCM', a: 0.5, b: [1, -1] } }));
    assert.ok(ok({ poly: { model: 'GRM', a: 1, b: [0.5] } }));
    for (const poly of [
      { model: 'GRM', a: 1, b: [0, 0] },
      { model: 'GRM', a: 1, b: [1, 0] },
      { model: 'GRM', a: 1, b: [] },
      { model: 'GRM', a: 0, b: [0] },
      { model: 'GRM', a: 10.5, b: [0] },
      { model: 'GRM', a: 1, b: [10.5] },
      { model: 'GRM', a: 1, b: [-10.5] },
      { model: 'GRM', a: 1, b: [0], c: 0 },
      { model: 'GPCM', a: 1, b: [] },
      { model: 'GPCM', a: 0, b: [0] },
      { model: 'GPCM', a: 10.5, b: [0] },
      { model: 'GPCM', a: 1, b: [11] },
      { model: 'GPCM', a: 1, b: [-11] },
      { model: 'PCM', a: 1, b: [0] },
    ])
      assert.equal(ok({ poly }), false, JSON.stringify(poly));
    const r = bankItemSchema.safeParse({ ...item, poly: { model: 'GRM', a: 1, b: [1, 0] } });
    assert.deepEqual(
      r.error?.issues.map((i) => i.message),
      ['GRM thresholds must increase'],
    );
  });
});
