import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkStop } from './stop.ts';

describe('checkStop', () => {
  const base = { administeredCount: 5, se: 0.5, minItems: 3, maxItems: 10, contentMinsMet: true };
  it('continues by default', () => assert.deepEqual(checkStop(base), { stop: false }));
  it('stops at maxItems', () => assert.deepEqual(checkStop({ ...base, administeredCount: 10 }), { stop: true, reason: 'max_items' }));
  it('stops on SE target only after minItems and content minimums', () => {
    assert.deepEqual(checkStop({ ...base, seTarget: 0.5 }), { stop: true, reason: 'se_target' });
    assert.deepEqual(checkStop({ ...base, seTarget: 0.4 }), { stop: false });
    assert.deepEqual(checkStop({ ...base, seTarget: 0.5, administeredCount: 2 }), { stop: false });
    assert.deepEqual(checkStop({ ...base, seTarget: 0.5, contentMinsMet: false }), { stop: false });
    assert.deepEqual(checkStop({ ...base, seTarget: 0.5, se: Infinity }), { stop: false });
  });
  it('stops on time limit and empty pool', () => {
    assert.deepEqual(checkStop({ ...base, timeRemainingS: 0 }), { stop: true, reason: 'time_limit' });
    assert.deepEqual(checkStop({ ...base, timeRemainingS: 12 }), { stop: false });
    assert.deepEqual(checkStop({ ...base, eligibleCount: 0 }), { stop: true, reason: 'pool_exhausted' });
  });
});
