import { createRng } from '@ap/cat';
import type { Rng } from '@ap/cat';
import type { Item } from '@ap/protocol';

/** The four skills of the adaptive demo bank. */
export const ADAPTIVE_SKILLS = ['arithmetic', 'percentages', 'sequences', 'algebra'] as const;

const OPTION_IDS = ['a', 'b', 'c', 'd'] as const;

/**
 * Generates the adaptive demo bank: `perSkill` items for each of four skills, each item a real
 * question with a computed key. Difficulty grows with operand size and steps; the IRT parameters
 * (a around 1.2, b spread over [-2.5, 2.5] by level, c near 0.22 for four options) stand for a
 * calibration and are recorded on each item. Deterministic for a seed.
 */
export function generateAdaptiveBank(perSkill = 60, seed = 'demo-adaptive-bank'): Item[] {
  const rng = createRng(seed);
  const items: Item[] = [];
  for (const skill of ADAPTIVE_SKILLS) {
    for (let i = 0; i < perSkill; i++) {
      const level = (i * 10) / perSkill; // 0 … 10, easy to hard
      const q = QUESTIONS[skill](level, rng);
      const b = round(-2.5 + level / 2 + (rng.next() - 0.5) * 0.4);
      const a = round(Math.max(0.5, 1.2 + rng.normal() * 0.25));
      const c = round(Math.min(0.3, Math.max(0.12, 0.22 + rng.normal() * 0.02)));
      items.push({
        id: `${skill.slice(0, 3)}-${String(i + 1).padStart(3, '0')}`,
        skill,
        type: 'single_choice',
        stem: q.stem,
        ...arrange(q.answer, q.distractors, rng),
        a,
        b,
        c,
        clarification: q.clarification,
      });
    }
  }
  return items;
}

type Generated = { stem: string; answer: string; distractors: string[]; clarification: string };

const QUESTIONS: Record<(typeof ADAPTIVE_SKILLS)[number], (level: number, rng: Rng) => Generated> = {
  arithmetic(level, rng) {
    const size = 2 + Math.floor(level * 4);
    const x = 2 + rng.nextInt(size * 2);
    const y = 2 + rng.nextInt(size);
    if (level < 3) {
      const sum = x + y * 3;
      return { stem: `What is ${x} + ${y * 3}?`, answer: String(sum), distractors: near(sum, rng), clarification: 'Add the two numbers.' };
    }
    const product = x * y;
    return { stem: `What is ${x} × ${y}?`, answer: String(product), distractors: near(product, rng, Math.max(2, y)), clarification: 'Multiply the two numbers; no calculator is needed.' };
  },
  percentages(level, rng) {
    const steps = level < 3 ? [10, 50, 25] : level < 6 ? [5, 15, 20, 30, 75] : [12.5, 35, 45, 65, 120, 2.5];
    const p = steps[rng.nextInt(steps.length)] as number;
    const base = (1 + rng.nextInt(4 + Math.floor(level * 3))) * 40;
    const value = (p * base) / 100;
    return {
      stem: `What is ${p}% of ${base}?`,
      answer: fmt(value),
      distractors: [fmt(value * 2), fmt(value / 2), fmt(value + base / 10)].filter((d) => d !== fmt(value)),
      clarification: 'p% of n is p × n / 100.',
    };
  },
  sequences(level, rng) {
    const start = 1 + rng.nextInt(10);
    const step = 2 + rng.nextInt(3 + Math.floor(level));
    let terms: number[];
    if (level < 4) terms = [0, 1, 2, 3, 4].map((k) => start + k * step);
    else if (level < 7) terms = [0, 1, 2, 3, 4].map((k) => start * step ** k);
    else terms = [0, 1, 2, 3, 4].map((k) => start + step * k * k + k);
    const next = terms[4] as number;
    return {
      stem: `What comes next: ${terms.slice(0, 4).join(', ')}, …?`,
      answer: String(next),
      distractors: near(next, rng, Math.max(1, step)),
      clarification: 'Look at how each term follows from the one before it.',
    };
  },
  algebra(level, rng) {
    const x = 1 + rng.nextInt(6 + Math.floor(level * 2));
    const a = 2 + rng.nextInt(2 + Math.floor(level));
    const b = rng.nextInt(10 + Math.floor(level * 5));
    if (level < 5) {
      return { stem: `Solve for x: ${a}x + ${b} = ${a * x + b}`, answer: String(x), distractors: near(x, rng), clarification: 'Subtract the constant, then divide by the coefficient.' };
    }
    const c = 1 + rng.nextInt(a);
    return {
      stem: `Solve for x: ${a}x + ${b} = ${c}x + ${(a - c) * x + b}`,
      answer: String(x),
      distractors: near(x, rng),
      clarification: 'Collect the x terms on one side first.',
    };
  },
};

function near(value: number, rng: Rng, spread = 1): string[] {
  const out = new Set<string>();
  const offsets = [1, -1, 2, -2, 3, 10, -10];
  while (out.size < 3) {
    const o = offsets[rng.nextInt(offsets.length)] as number;
    const d = value + o * spread;
    if (d !== value && d >= 0) out.add(String(d));
    if (out.size < 3 && rng.next() < 0.05) out.add(String(value + out.size + 11));
  }
  return [...out];
}

function arrange(answer: string, distractors: string[], rng: Rng): Pick<Item, 'options' | 'key'> {
  const texts = [answer, ...distractors.filter((d, i, all) => d !== answer && all.indexOf(d) === i)];
  let filler = 1;
  while (texts.length < 4) {
    const extra = `${answer}${'0'.repeat(filler++)}`;
    if (!texts.includes(extra)) texts.push(extra);
  }
  const shuffled = texts.slice(0, 4);
  for (let i = shuffled.length - 1; i > 0; i--) {
    const j = rng.nextInt(i + 1);
    [shuffled[i], shuffled[j]] = [shuffled[j] as string, shuffled[i] as string];
  }
  const options = shuffled.map((text, i) => ({ id: OPTION_IDS[i] as string, text }));
  return { options, key: (options.find((o) => o.text === answer) as { id: string }).id };
}

function fmt(v: number): string {
  return Number.isInteger(v) ? String(v) : String(Math.round(v * 100) / 100);
}

function round(v: number): number {
  return Math.round(v * 1000) / 1000;
}
