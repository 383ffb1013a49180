/**
 * Question bank file parsing (JSON or YAML), all-or-nothing with per-item errors.
 */
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { MAX_A, MAX_ABS_B } from './models.ts';
import { paramsFromLabel } from './irt.ts';

const optionSchema = z.strictObject({
  id: z.string().min(1),
  text: z.string().min(1),
});

/** Question types of a bank file: `likert` and `partial_credit` have ordered options (categories 0..K) and no key. */
const ITEM_TYPES = ['single_choice', 'likert', 'partial_credit'] as const;
/** Polytomous question types and the model each uses when the item names none. */
const DEFAULT_MODEL = { likert: 'GRM', partial_credit: 'GPCM' } as const;
/** Discrimination of a polytomous item that gives no `a`. */
export const DEFAULT_POLY_A = 1;

/**
 * Thresholds of a polytomous item that gives none: K = categories − 1 evenly spaced values in
 * (−2, 2), increasing, e.g. [−1.2, −0.4, 0.4, 1.2] for five options.
 */
export function defaultThresholds(categories: number): number[] {
  const k = categories - 1;
  return Array.from({ length: k }, (_, i) => Math.round((-2 + (4 * (i + 1)) / (k + 1)) * 1000) / 1000);
}

/**
 * Schema of one item in a bank file. Unknown keys are rejected (to catch typos).
 * single_choice (the default type): a/b/c are optional; missing ones come from
 * `paramsFromLabel(difficulty ?? 'medium', options.length)`.
 * likert and partial_credit: no key, b or c; `model` (default GRM for likert, GPCM for
 * partial_credit), `a` (default 1) and `thresholds` (one per option after the first; increasing
 * for GRM; default {@link defaultThresholds}).
 */
export const bankFileItemSchema = z
  .strictObject({
    id: z.string().min(1),
    skill: z.string().min(1),
    stem: z.string().min(1),
    options: z.array(optionSchema).min(2).max(10),
    key: z.string().min(1).optional(),
    difficulty: z.enum(['easy', 'medium', 'hard']).optional(),
    a: z.number().positive().max(MAX_A).optional(),
    b: z.number().min(-MAX_ABS_B).max(MAX_ABS_B).optional(),
    c: z.number().min(0).lt(1).optional(),
    model: z.enum(['GRM', 'GPCM']).optional(),
    thresholds: z.array(z.number().min(-MAX_ABS_B).max(MAX_ABS_B)).min(1).max(9).optional(),
    clarification: z.string().optional(),
    type: z.enum(ITEM_TYPES).optional(),
  })
  .superRefine((item, ctx) => {
    for (const issue of optionIssues(item)) ctx.addIssue({ code: 'custom', ...issue });
  });

type Issue = { path: (string | number)[]; message: string };

/**
 * Cross-field checks: unique option ids, a key that names an option on a single choice, and on a
 * likert or partial_credit item no key, b or c and thresholds that fit the options and the model
 * (works on raw input too).
 */
function optionIssues(entry: unknown): Issue[] {
  if (entry === null || typeof entry !== 'object') return [];
  const raw = entry as Record<string, unknown>;
  const options = raw['options'];
  if (!Array.isArray(options)) return [];
  const out: Issue[] = [];
  const seen = new Set<string>();
  options.forEach((o: unknown, i) => {
    const id = o !== null && typeof o === 'object' ? (o as { id?: unknown }).id : undefined;
    if (typeof id !== 'string') return;
    if (seen.has(id)) out.push({ path: ['options', i, 'id'], message: `duplicate option id "${id}"` });
    seen.add(id);
  });
  const type = raw['type'] ?? 'single_choice';
  if (type === 'likert' || type === 'partial_credit') return [...out, ...polyIssues(raw, type, options.length)];
  // An unknown type is reported by the schema; its other fields are not judged.
  if (type !== 'single_choice') return out;
  const key = raw['key'];
  if (key === undefined) out.push({ path: ['key'], message: 'required field is missing (a single_choice item needs a key)' });
  if (typeof key === 'string' && key.length > 0 && seen.size > 0 && !seen.has(key)) {
    out.push({ path: ['key'], message: `key "${key}" is not one of the option ids` });
  }
  for (const f of ['model', 'thresholds']) {
    if (raw[f] !== undefined) out.push({ path: [f], message: `${f} is only for likert and partial_credit items` });
  }
  return out;
}

/** The checks of a likert or partial_credit item: ordered options are its categories, thresholds fit them. */
function polyIssues(raw: Record<string, unknown>, type: 'likert' | 'partial_credit', options: number): Issue[] {
  const out: Issue[] = [];
  for (const f of ['key', 'b', 'c']) {
    if (raw[f] !== undefined) out.push({ path: [f], message: `a ${type} item has no ${f} (its options are ordered categories)` });
  }
  const t = raw['thresholds'];
  if (!Array.isArray(t)) return out;
  if (t.length !== options - 1) {
    out.push({
      path: ['thresholds'],
      message: `${options} options (categories 0..${options - 1}) need ${options - 1} threshold${options === 2 ? '' : 's'}, got ${t.length}`,
    });
  }
  const model = raw['model'] ?? DEFAULT_MODEL[type];
  if (model === 'GRM' && t.some((v: unknown, k) => k > 0 && typeof v === 'number' && v <= (t[k - 1] as number))) {
    out.push({ path: ['thresholds'], message: 'GRM thresholds must increase' });
  }
  return out;
}

/** An item as written in a bank file. */
export type BankFileItem = z.infer<typeof bankFileItemSchema>;

/** A parsed single-choice bank item with IRT parameters filled in. */
export interface ParsedChoiceItem {
  id: string;
  skill: string;
  stem: string;
  options: { id: string; text: string }[];
  key: string;
  difficulty?: 'easy' | 'medium' | 'hard';
  a: number;
  b: number;
  c: number;
  clarification?: string;
  type: 'single_choice';
}

/** A parsed likert or partial-credit bank item (option k is category k) with its model filled in. */
export interface ParsedPolyItem {
  id: string;
  skill: string;
  stem: string;
  options: { id: string; text: string }[];
  difficulty?: 'easy' | 'medium' | 'hard';
  a: number;
  model: 'GRM' | 'GPCM';
  thresholds: number[];
  clarification?: string;
  type: 'likert' | 'partial_credit';
}

/** A parsed bank item. */
export type ParsedBankItem = ParsedChoiceItem | ParsedPolyItem;

/** One bank-file error: the item (id, or index when the id is unusable), the field path and a message. */
export interface BankFileError {
  item: string | number;
  field: string;
  message: string;
}

/** Result of {@link parseBankFile}. */
export type ParseBankResult = { ok: true; items: ParsedBankItem[] } | { ok: false; errors: BankFileError[] };

function fieldPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out === '' ? String(p) : `.${String(p)}`;
  }
  return out === '' ? '(item)' : out;
}

/** A checked bank-file item with its defaults filled in. */
function parsedItem(it: BankFileItem): ParsedBankItem {
  const common = { id: it.id, skill: it.skill, stem: it.stem, options: it.options.map((o) => ({ id: o.id, text: o.text })) };
  const extra = {
    ...(it.difficulty === undefined ? {} : { difficulty: it.difficulty }),
    ...(it.clarification === undefined ? {} : { clarification: it.clarification }),
  };
  const type = it.type ?? 'single_choice';
  if (type !== 'single_choice') {
    const model = it.model ?? DEFAULT_MODEL[type];
    const thresholds = it.thresholds ?? defaultThresholds(it.options.length);
    return { ...common, ...extra, a: it.a ?? DEFAULT_POLY_A, model, thresholds, type };
  }
  const def = paramsFromLabel(it.difficulty ?? 'medium', it.options.length);
  // The checks have made sure a single choice has its key.
  const key = it.key as string;
  return { ...common, key, ...extra, a: it.a ?? def.a, b: it.b ?? def.b, c: it.c ?? def.c, type: 'single_choice' };
}

/**
 * Parse a bank file. The document is either an array of items or an object with an
 * `items` array. Every error names the item (its id, or its 0-based index when the
 * id is missing/invalid) and the field; file-level errors use item "(file)".
 * Duplicate ids are errors. Any error → no items at all.
 */
export function parseBankFile(text: string, format: 'json' | 'yaml'): ParseBankResult {
  let doc: unknown;
  try {
    doc = format === 'json' ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    return { ok: false, errors: [{ item: '(file)', field: '(file)', message: `invalid ${format.toUpperCase()}: ${message}` }] };
  }
  let list: unknown;
  if (Array.isArray(doc)) list = doc;
  else if (doc !== null && typeof doc === 'object' && Array.isArray((doc as { items?: unknown }).items)) {
    list = (doc as { items: unknown[] }).items;
  } else {
    return {
      ok: false,
      errors: [{ item: '(file)', field: 'items', message: 'expected an array of items or an object with an "items" array' }],
    };
  }
  const raw = list as unknown[];
  const errors: BankFileError[] = [];
  const items: ParsedBankItem[] = [];
  const firstIndex = new Map<string, number>();
  raw.forEach((entry, index) => {
    const rawId = entry !== null && typeof entry === 'object' ? (entry as { id?: unknown }).id : undefined;
    const name: string | number = typeof rawId === 'string' && rawId.length > 0 ? rawId : index;
    const parsed = bankFileItemSchema.safeParse(entry);
    if (typeof name === 'string') {
      const prev = firstIndex.get(name);
      if (prev !== undefined) errors.push({ item: name, field: 'id', message: `duplicate id (items ${prev} and ${index})` });
      else firstIndex.set(name, index);
    }
    if (!parsed.success) {
      const seenMsg = new Set<string>();
      const add = (field: string, message: string): void => {
        if (seenMsg.has(`${field}\n${message}`)) return;
        seenMsg.add(`${field}\n${message}`);
        errors.push({ item: name, field, message });
      };
      for (const issue of parsed.error.issues) {
        if (issue.code === 'unrecognized_keys') {
          for (const k of issue.keys) add(fieldPath([...issue.path, k]), `unknown field "${k}"`);
        } else {
          const missing = issue.code === 'invalid_type' && /received undefined$/.test(issue.message);
          add(fieldPath(issue.path), missing ? `required field is missing (${issue.expected})` : issue.message);
        }
      }
      // Refinements are skipped by zod when the base shape fails; report them anyway.
      for (const issue of optionIssues(entry)) add(fieldPath(issue.path), issue.message);
      return;
    }
    items.push(parsedItem(parsed.data));
  });
  if (raw.length === 0) errors.push({ item: '(file)', field: 'items', message: 'the bank has no items' });
  return errors.length > 0 ? { ok: false, errors } : { ok: true, items };
}
