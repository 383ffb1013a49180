import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultThresholds, parseBankFile } from './bank-file.ts';
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

describe('bank file errors, word for word', () => {
  const opts = (...ids: string[]): { id: string; text: string }[] => ids.map((id) => ({ id, text: id.toUpperCase() }));

  it('lists every fault of every item, in order, with its item, field and message', () => {
    const items = [
      { id: 'q1', skill: 's', stem: 'S', options: [...opts('a'), { id: 'a', text: 'B' }], key: 'z' },
      { id: 'q2', skill: 's', stem: 'S', options: opts('a', 'b'), key: 'a', model: 'GRM', thresholds: [0] },
      { id: 'q3', skill: 's', stem: 'S', options: opts('a', 'b', 'c'), type: 'likert', key: 'a', b: 1, c: 0.2, thresholds: [1, 0.5, 2] },
      { id: 'q4', skill: 's', stem: 'S', options: opts('a', 'b'), type: 'partial_credit', model: 'GPCM', thresholds: [1, 0.5] },
      { id: '', skill: 's', stem: 'S', options: opts('a'), key: 'a', colour: 'red' },
      { id: 'q1', skill: 's', stem: 'S', options: opts('a', 'b'), a: 20, type: 'essay' },
      7,
      { id: 'q7', skill: 's', stem: 'S', options: opts('a', 'b') },
      { id: 'q8', skill: 's', options: opts('a', 'b'), key: 'a' },
    ];
    const r = parseBankFile(JSON.stringify(items), 'json');
    assert.ok(!r.ok);
    assert.deepEqual(r.errors, [
      { item: 'q1', field: 'options[1].id', message: 'duplicate option id "a"' },
      { item: 'q1', field: 'key', message: 'key "z" is not one of the option ids' },
      { item: 'q2', field: 'model', message: 'model is only for likert and partial_credit items' },
      { item: 'q2', field: 'thresholds', message: 'thresholds is only for likert and partial_credit items' },
      { item: 'q3', field: 'key', message: 'a likert item has no key (its options are ordered categories)' },
      { item: 'q3', field: 'b', message: 'a likert item has no b (its options are ordered categories)' },
      { item: 'q3', field: 'c', message: 'a likert item has no c (its options are ordered categories)' },
      { item: 'q3', field: 'thresholds', message: '3 options (categories 0..2) need 2 thresholds, got 3' },
      { item: 'q3', field: 'thresholds', message: 'GRM thresholds must increase' },
      { item: 'q4', field: 'thresholds', message: '2 options (categories 0..1) need 1 threshold, got 2' },
      { item: 4, field: 'id', message: 'Too small: expected string to have >=1 characters' },
      { item: 4, field: 'options', message: 'Too small: expected array to have >=2 items' },
      { item: 4, field: 'colour', message: 'unknown field "colour"' },
      { item: 'q1', field: 'id', message: 'duplicate id (items 0 and 5)' },
      { item: 'q1', field: 'a', message: 'Too big: expected number to be <=10' },
      { item: 'q1', field: 'type', message: 'Invalid option: expected one of "single_choice"|"likert"|"partial_credit"' },
      { item: 6, field: '(item)', message: 'Invalid input: expected object, received number' },
      { item: 'q7', field: 'key', message: 'required field is missing (a single_choice item needs a key)' },
      { item: 'q8', field: 'stem', message: 'required field is missing (string)' },
    ]);
  });

  it('names the file for a document it cannot read or use', () => {
    const file = (text: string, format: 'json' | 'yaml'): unknown => parseBankFile(text, format);
    const err = (field: string, message: string): unknown => ({ ok: false, errors: [{ item: '(file)', field, message }] });
    assert.deepEqual(file('[', 'json'), err('(file)', 'invalid JSON: Unexpected end of JSON input'));
    const yaml = parseBankFile('a: [', 'yaml');
    assert.ok(!yaml.ok && yaml.errors[0]?.message.startsWith('invalid YAML: Flow sequence'));
    assert.deepEqual(file('[]', 'json'), err('items', 'the bank has no items'));
    assert.deepEqual(file('{"items": []}', 'json'), err('items', 'the bank has no items'));
    for (const text of ['{"x": 1}', 'null', '3', '{"items": 3}']) {
      assert.deepEqual(file(text, 'json'), err('items', 'expected an array of items or an object with an "items" array'));
    }
  });

  it('default thresholds are evenly spaced inside (−2, 2), rounded to thousandths', () => {
    assert.deepEqual(defaultThresholds(2), [0]);
    assert.deepEqual(defaultThresholds(3), [-0.667, 0.667]);
    assert.deepEqual(defaultThresholds(5), [-1.2, -0.4, 0.4, 1.2]);
  });
});

describe('bank file entries of any shape', () => {
  const ok = {
    skill: 's',
    stem: 'S',
    options: [
      { id: 'a', text: 'A' },
      { id: 'b', text: 'B' },
    ],
    key: 'a',
  };
  const errors = (items: unknown[]): unknown => {
    const r = parseBankFile(JSON.stringify(items), 'json');
    return r.ok ? [] : r.errors;
  };

  it('reports null entries, options that are not a list or not objects, and ids that are not strings, without failing', () => {
    assert.deepEqual(errors([null, { ...ok, id: 'q1' }]), [
      { item: 0, field: '(item)', message: 'Invalid input: expected object, received null' },
    ]);
    assert.deepEqual(errors([{ ...ok, id: 'q2', options: 'ab' }]), [
      { item: 'q2', field: 'options', message: 'Invalid input: expected array, received string' },
    ]);
    assert.deepEqual(errors([{ ...ok, id: 'q3', options: [null, 5, { id: 3, text: 'C' }, { id: 'a', text: 'A' }] }]), [
      { item: 'q3', field: 'options[0]', message: 'Invalid input: expected object, received null' },
      { item: 'q3', field: 'options[1]', message: 'Invalid input: expected object, received number' },
      { item: 'q3', field: 'options[2].id', message: 'Invalid input: expected string, received number' },
    ]);
    // No option has a usable id: the key cannot be judged against them.
    assert.deepEqual(
      errors([
        {
          ...ok,
          id: 'q4',
          options: [
            { id: 1, text: 'A' },
            { id: 2, text: 'B' },
          ],
          key: 'z',
        },
      ]),
      [
        { item: 'q4', field: 'options[0].id', message: 'Invalid input: expected string, received number' },
        { item: 'q4', field: 'options[1].id', message: 'Invalid input: expected string, received number' },
      ],
    );
    // An empty key is too short, not an unknown option.
    assert.deepEqual(errors([{ ...ok, id: 'q5', key: '' }]), [
      { item: 'q5', field: 'key', message: 'Too small: expected string to have >=1 characters' },
    ]);
    // A field of the wrong type is not a missing one.
    assert.deepEqual(errors([{ ...ok, id: 'q6', stem: 5 }]), [
      { item: 'q6', field: 'stem', message: 'Invalid input: expected string, received number' },
    ]);
  });

  it('GRM thresholds must strictly increase; values that are not numbers are reported by the schema', () => {
    const likert = {
      skill: 's',
      stem: 'S',
      options: [
        { id: 'a', text: 'A' },
        { id: 'b', text: 'B' },
        { id: 'c', text: 'C' },
      ],
      type: 'likert',
    };
    assert.deepEqual(errors([{ ...likert, id: 'l1', thresholds: [0, 0] }]), [
      { item: 'l1', field: 'thresholds', message: 'GRM thresholds must increase' },
    ]);
    assert.deepEqual(errors([{ ...likert, id: 'l2', thresholds: [0, 'x'] }]), [
      { item: 'l2', field: 'thresholds[1]', message: 'Invalid input: expected number, received string' },
    ]);
    assert.deepEqual(errors([{ ...likert, id: 'l3', model: 'GPCM', thresholds: [1, 0] }]), []);
  });

  it('keeps the difficulty and clarification it was given, and leaves them out otherwise', () => {
    const r = parseBankFile(
      JSON.stringify([
        { ...ok, id: 'e', difficulty: 'easy', clarification: 'Read twice.' },
        { ...ok, id: 'm' },
      ]),
      'json',
    );
    assert.ok(r.ok);
    assert.deepEqual(r.items, [
      {
        id: 'e',
        skill: 's',
        stem: 'S',
        options: ok.options,
        key: 'a',
        difficulty: 'easy',
        clarification: 'Read twice.',
        a: 1,
        b: -1,
        c: 0.5,
        type: 'single_choice',
      },
      { id: 'm', skill: 's', stem: 'S', options: ok.options, key: 'a', a: 1, b: 0, c: 0.5, type: 'single_choice' },
    ]);
  });
});
