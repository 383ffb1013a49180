import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseBankFile } from './bank-file.ts';
import type { ParsedBankItem, ParsedChoiceItem } from './bank-file.ts';

/** The a, b, c of a parsed single-choice item. */
const abc = (item: ParsedBankItem | undefined): unknown[] => {
  const c = item as ParsedChoiceItem | undefined;
  return [c?.a, c?.b, c?.c];
};

const good = [
  {
    id: 'alg-1',
    skill: 'algebra',
    stem: 'Solve 2x = 4',
    options: [
      { id: 'a', text: '1' },
      { id: 'b', text: '2' },
      { id: 'c', text: '4' },
      { id: 'd', text: '8' },
    ],
    key: 'b',
    difficulty: 'easy',
  },
  {
    id: 'geo-1',
    skill: 'geometry',
    stem: 'Angles in a triangle sum to?',
    options: [
      { id: 'x', text: '90' },
      { id: 'y', text: '180' },
    ],
    key: 'y',
    a: 1.4,
    b: 0.2,
    c: 0.1,
    clarification: 'degrees',
    type: 'single_choice',
  },
  {
    id: 'num-1',
    skill: 'numbers',
    stem: 'Is 7 prime?',
    options: [
      { id: 'y', text: 'yes' },
      { id: 'n', text: 'no' },
      { id: 'm', text: 'maybe' },
    ],
    key: 'y',
  },
];

const yamlText = `
items:
  - id: alg-1
    skill: algebra
    stem: "Solve 2x = 4"
    options:
      - { id: a, text: "1" }
      - { id: b, text: "2" }
      - { id: c, text: "4" }
      - { id: d, text: "8" }
    key: b
    difficulty: hard
  - id: alg-2
    skill: algebra
    stem: Pick one
    options:
      - id: p
        text: first
      - id: q
        text: second
    key: q
    b: -0.4
`;

describe('parseBankFile', () => {
  it('parses good JSON and fills a/b/c from the difficulty label', () => {
    const r = parseBankFile(JSON.stringify(good), 'json');
    assert.ok(r.ok);
    assert.equal(r.items.length, 3);
    assert.deepEqual(abc(r.items[0]), [1, -1, 0.25]);
    assert.deepEqual(abc(r.items[1]), [1.4, 0.2, 0.1]);
    assert.deepEqual(abc(r.items[2]), [1, 0, 1 / 3]);
    assert.equal(r.items[1]?.clarification, 'degrees');
    assert.equal(r.items[2]?.type, 'single_choice');
  });

  it('parses good YAML (object with items)', () => {
    const r = parseBankFile(yamlText, 'yaml');
    assert.ok(r.ok, JSON.stringify(r));
    assert.equal(r.items.length, 2);
    assert.deepEqual(abc(r.items[0]).slice(1), [1, 0.25]);
    assert.deepEqual(abc(r.items[1]), [1, -0.4, 0.5]);
  });

  it('names the item and field of every error, and imports nothing', () => {
    const bad = structuredClone(good) as Record<string, unknown>[];
    (bad[0] as Record<string, unknown>).key = 'z';
    (bad[1] as Record<string, unknown>).c = 1;
    (bad[2] as Record<string, unknown>).options = [{ id: 'only', text: 'one' }];
    bad.push({
      skill: 's',
      stem: 'no id',
      options: [
        { id: 'a', text: 'a' },
        { id: 'a', text: 'b' },
      ],
      key: 'a',
      dificulty: 'easy',
    });
    const r = parseBankFile(JSON.stringify(bad), 'json');
    assert.ok(!r.ok);
    const has = (item: string | number, field: string): boolean => r.errors.some((e) => e.item === item && e.field === field);
    assert.ok(has('alg-1', 'key'), JSON.stringify(r.errors));
    assert.ok(has('geo-1', 'c'));
    assert.ok(has('num-1', 'options'));
    assert.ok(has(3, 'id'));
    assert.ok(has(3, 'options[1].id'));
    assert.ok(r.errors.some((e) => e.item === 3 && /dificulty/.test(e.message + e.field)));
    assert.ok(!('items' in r));
  });

  it('reports duplicate ids', () => {
    const dup = [good[0], good[1], { ...good[2], id: 'alg-1' }];
    const r = parseBankFile(JSON.stringify(dup), 'json');
    assert.ok(!r.ok);
    assert.deepEqual(
      r.errors.map((e) => [e.item, e.field]),
      [['alg-1', 'id']],
    );
    assert.match(r.errors[0]?.message ?? '', /duplicate/);
  });

  it('rejects unparseable or mis-shaped files', () => {
    const a = parseBankFile('{ not json', 'json');
    assert.ok(!a.ok && a.errors[0]?.item === '(file)');
    const b = parseBankFile('foo: [1, 2', 'yaml');
    assert.ok(!b.ok && b.errors[0]?.item === '(file)');
    const c = parseBankFile('{"items": 3}', 'json');
    assert.ok(!c.ok && c.errors[0]?.field === 'items');
    const d = parseBankFile('[]', 'json');
    assert.ok(!d.ok);
  });
});

describe('parseBankFile: likert and partial_credit items', () => {
  const scale = ['never', 'rarely', 'sometimes', 'often'].map((text, i) => ({ id: `o${i}`, text }));
  const likert = { id: 'lk-1', skill: 'teamwork', type: 'likert', stem: 'I share what I learn.', options: scale };
  const errorsOf = (items: unknown[]) => {
    const r = parseBankFile(JSON.stringify(items), 'json');
    assert.ok(!r.ok, 'expected the bank to be refused');
    return r.errors.map((e) => [e.item, e.field]);
  };

  it('fills the model, a and thresholds of a polytomous item and keeps given ones', () => {
    const r = parseBankFile(
      JSON.stringify([
        likert,
        { ...likert, id: 'pc-1', type: 'partial_credit', options: scale.slice(0, 3) },
        { ...likert, id: 'lk-2', model: 'GPCM', a: 1.7, thresholds: [0.4, -0.3, 1.1] },
        good[0],
      ]),
      'json',
    );
    assert.ok(r.ok, JSON.stringify(r));
    assert.deepEqual(r.items[0], { ...likert, type: 'likert', model: 'GRM', a: 1, thresholds: [-1, 0, 1] });
    assert.deepEqual(r.items[1], {
      ...likert,
      id: 'pc-1',
      type: 'partial_credit',
      options: scale.slice(0, 3),
      model: 'GPCM',
      a: 1,
      thresholds: [-0.667, 0.667],
    });
    assert.deepEqual(r.items[2], { ...likert, id: 'lk-2', type: 'likert', model: 'GPCM', a: 1.7, thresholds: [0.4, -0.3, 1.1] });
    assert.equal(r.items[3]?.type, 'single_choice');
  });

  it('refuses GRM thresholds out of order, naming the item and field', () => {
    assert.deepEqual(errorsOf([{ ...likert, thresholds: [-1, 1, 0.5] }]), [['lk-1', 'thresholds']]);
  });

  it('refuses thresholds that miss a category or add one', () => {
    assert.deepEqual(errorsOf([{ ...likert, thresholds: [-1, 1] }]), [['lk-1', 'thresholds']]);
    assert.deepEqual(errorsOf([{ ...likert, type: 'partial_credit', thresholds: [-1, 0, 1, 2] }]), [['lk-1', 'thresholds']]);
  });

  it('refuses a key, b or c on a likert item and reports it with other faults', () => {
    assert.deepEqual(errorsOf([{ ...likert, key: 'o3' }]), [['lk-1', 'key']]);
    assert.deepEqual(errorsOf([{ ...likert, b: 0.5, c: 0.2 }]), [
      ['lk-1', 'b'],
      ['lk-1', 'c'],
    ]);
    // With a fault in the base shape the item's own checks are reported too.
    assert.deepEqual(errorsOf([{ ...likert, key: 'o3', a: -1 }]), [
      ['lk-1', 'a'],
      ['lk-1', 'key'],
    ]);
  });

  it('refuses a single choice without a key, or with thresholds, and an unknown type', () => {
    const { key: _key, ...noKey } = good[0] as (typeof good)[number];
    assert.deepEqual(errorsOf([noKey]), [['alg-1', 'key']]);
    assert.deepEqual(errorsOf([{ ...good[0], thresholds: [0, 1, 2] }]), [['alg-1', 'thresholds']]);
    assert.deepEqual(errorsOf([{ ...likert, type: 'essay' }]), [['lk-1', 'type']]);
  });
});
