import assert from 'node:assert/strict';
import { test } from 'node:test';
import { poolSizeInUrl } from './index.ts';

test('the pool size comes from the connection string when it sets one', () => {
  assert.equal(poolSizeInUrl('mongodb://127.0.0.1:27017/'), undefined);
  assert.equal(poolSizeInUrl('mongodb://127.0.0.1:27017/?maxPoolSize=50'), 50);
  assert.equal(poolSizeInUrl('mongodb://a:1,b:2/db?replicaSet=rs0&maxPoolSize=4&w=majority'), 4);
  assert.equal(poolSizeInUrl('mongodb://h/?maxpoolsize=7'), 7);
  assert.equal(poolSizeInUrl('mongodb://h/?minPoolSize=3'), undefined);
});
