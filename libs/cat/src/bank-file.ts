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

/**
 * Schema of one item in a bank file. Unknown keys are rejected (to catch typos).
 * a/b/c are optional; missing ones come from `paramsFromLabel(difficulty ?? 'medium', options.length)`.
 */
export const bankFileItemSchema = z
  .strictObject({
    id: z.string().min(1),
    skill: z.string().min(1),
    stem: z.string().min(1),
    options: z.array(optionSchema).min(2).max(10),
    key: z.string().min(1),
    difficulty: z.enum(['easy', 'medium', 'hard']).optional(),
    a: z.number().positive().max(MAX_A).optional(),
    b: z.number().min(-MAX_ABS_B).max(MAX_ABS_B).optional(),
    c: z.number().min(0).lt(1).optional(),
    clarification: z.string().optional(),
    type: z.literal('single_choice').optional(),
  })
  .superRefine((item, ctx) => {
    for (const issue of optionIssues(item)) ctx.addIssue({ code: 'custom', ...issue });
  });

/** Cross-field checks: unique option ids and a key that names an option (works on raw input too). */
function optionIssues(entry: unknown): { path: (string | number)[]; message: string }[] {
  if (entry === null || typeof entry !== 'object') return [];
  const { options, key } = entry as { options?: unknown; key?: unknown };
  if (!Array.isArray(options)) return [];
  const out: { path: (string | number)[]; message: string }[] = [];
  const seen = new Set<string>();
  options.forEach((o: unknown, i) => {
    const id = o !== null && typeof o === 'object' ? (o as { id?: unknown }).id : undefined;
    if (typeof id !== 'string') return;
    if (seen.has(id)) out.push({ path: ['options', i, 'id'], message: `duplicate option id "${id}"` });
    seen.add(id);
  });
  if (typeof key === 'string' && key.length > 0 && seen.size > 0 && !seen.has(key)) {
    out.push({ path: ['key'], message: `key "${key}" is not one of the option ids` });
  }
  return out;
}

/** An item as written in a bank file. */
export type BankFileItem = z.infer<typeof bankFileItemSchema>;

/** A parsed bank item with IRT parameters filled in. */
export interface ParsedBankItem {
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
    const it = parsed.data;
    const def = paramsFromLabel(it.difficulty ?? 'medium', it.options.length);
    const out: ParsedBankItem = {
      id: it.id,
      skill: it.skill,
      stem: it.stem,
      options: it.options.map((o) => ({ id: o.id, text: o.text })),
      key: it.key,
      a: it.a ?? def.a,
      b: it.b ?? def.b,
      c: it.c ?? def.c,
      type: 'single_choice',
    };
    if (it.difficulty !== undefined) out.difficulty = it.difficulty;
    if (it.clarification !== undefined) out.clarification = it.clarification;
    items.push(out);
  });
  if (raw.length === 0) errors.push({ item: '(file)', field: 'items', message: 'the bank has no items' });
  return errors.length > 0 ? { ok: false, errors } : { ok: true, items };
}
