import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseBankFile } from './bank-file.ts';

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
    assert.deepEqual([r.items[0]?.a, r.items[0]?.b, r.items[0]?.c], [1, -1, 0.25]);
    assert.deepEqual([r.items[1]?.a, r.items[1]?.b, r.items[1]?.c], [1.4, 0.2, 0.1]);
    assert.deepEqual([r.items[2]?.a, r.items[2]?.b, r.items[2]?.c], [1, 0, 1 / 3]);
    assert.equal(r.items[1]?.clarification, 'degrees');
    assert.equal(r.items[2]?.type, 'single_choice');
  });

  it('parses good YAML (object with items)', () => {
    const r = parseBankFile(yamlText, 'yaml');
    assert.ok(r.ok, JSON.stringify(r));
    assert.equal(r.items.length, 2);
    assert.deepEqual([r.items[0]?.b, r.items[0]?.c], [1, 0.25]);
    assert.deepEqual([r.items[1]?.a, r.items[1]?.b, r.items[1]?.c], [1, -0.4, 0.5]);
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
