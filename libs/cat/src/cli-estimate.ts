/** `npm run cat -- estimate`: θ, SE and the next item from a JSON pattern (file or stdin). */
import { z } from 'zod';
import { UsageError, fail, issuePath, readInput } from './cli-common.ts';
import type { Estimate } from './estimate.ts';
import { ESTIMATION_METHODS, estimateTheta } from './methods.ts';
import { MAX_A, MAX_ABS_B, MAX_D, itemInformation } from './models.ts';
import type { AnyItemParams } from './models.ts';

const aSchema = z.number().positive().max(MAX_A);
const bSchema = z.number().min(-MAX_ABS_B).max(MAX_ABS_B);
/** A 3PL bank entry `[a, b, c]`. */
export const dichotomousEntry = z.tuple([aSchema, bSchema, z.number().min(0).lt(1)]);
const polyEntry = z.discriminatedUnion('model', [
  z.strictObject({
    model: z.literal('GRM'),
    a: aSchema,
    b: z
      .array(bSchema)
      .min(1)
      .refine((b) => b.every((v, k) => k === 0 || v > (b[k - 1] as number)), { message: 'GRM thresholds must increase' }),
  }),
  z.strictObject({ model: z.literal('GPCM'), a: aSchema, b: z.array(bSchema).min(1) }),
]);

// The `estimate` input: a bank of [a,b,c] triples and GRM/GPCM items, and the answered items.
const estimateInputSchema = z
  .strictObject({
    bank: z.array(z.union([dichotomousEntry, polyEntry])).min(1),
    administered: z.array(z.int().min(0)),
    responses: z.array(z.int().min(0)),
    D: z.number().positive().max(MAX_D).optional(),
    method: z.enum(ESTIMATION_METHODS).optional(),
    prior: z.strictObject({ mean: bSchema, sd: z.number().positive().max(100) }).optional(),
  })
  .superRefine((v, ctx) => {
    if (v.administered.length !== v.responses.length) {
      ctx.addIssue({
        code: 'custom',
        path: ['responses'],
        message: `has ${v.responses.length} entries but administered has ${v.administered.length}`,
      });
    }
    const seen = new Set<number>();
    v.administered.forEach((idx, i) => {
      const entry = v.bank[idx];
      if (entry === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['administered', i],
          message: `index ${idx} is out of range (bank has ${v.bank.length} items)`,
        });
      } else {
        const k = Array.isArray(entry) ? 2 : entry.b.length + 1;
        const x = v.responses[i];
        if (x !== undefined && x >= k) {
          ctx.addIssue({
            code: 'custom',
            path: ['responses', i],
            message: `category ${x} is out of range (item ${idx} has categories 0..${k - 1})`,
          });
        }
      }
      if (seen.has(idx)) ctx.addIssue({ code: 'custom', path: ['administered', i], message: `index ${idx} is repeated` });
      seen.add(idx);
    });
  });

async function readEstimateInput(args: string[]): Promise<z.infer<typeof estimateInputSchema>> {
  if (args.length > 1) throw new UsageError('estimate takes at most one file argument');
  let text: string;
  try {
    text = await readInput(args[0]);
  } catch (err) {
    fail(`estimate: cannot read input: ${err instanceof Error ? err.message : String(err)}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    fail(`estimate: input is not valid JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  const parsed = estimateInputSchema.safeParse(raw);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${issuePath(i.path)}: ${i.message}`);
    fail(`estimate: invalid input:\n${lines.join('\n')}`);
  }
  return parsed.data;
}

/** Exit 2 naming the field when a computed value is not a finite number. */
function requireFinite(command: string, field: string, value: number): number {
  if (!Number.isFinite(value)) fail(`${command}: the result field "${field}" is not finite (${value}); check the item parameters`);
  return value;
}

export async function cmdEstimate(args: string[]): Promise<void> {
  const input = await readEstimateInput(args);
  const { administered, responses } = input;
  const D = input.D ?? 1;
  const items: AnyItemParams[] = input.bank.map((e) => (Array.isArray(e) ? { a: e[0], b: e[1], c: e[2] } : e));
  let est: Estimate;
  try {
    est = estimateTheta(
      input.method ?? 'EAP',
      administered.map((i) => items[i] as AnyItemParams),
      responses,
      { D, ...(input.prior ? { prior: input.prior } : {}) },
    );
  } catch (err) {
    if (err instanceof RangeError) fail(`estimate: invalid input: ${err.message}`);
    throw err;
  }
  const theta = requireFinite('estimate', 'theta', est.theta);
  const se = requireFinite('estimate', 'se', est.se);
  const used = new Set(administered);
  let next: number | null = null;
  let best = -Infinity;
  items.forEach((it, i) => {
    if (used.has(i)) return;
    const v = requireFinite('estimate', `information of bank[${i}]`, itemInformation(it, theta, D));
    if (v > best) {
      best = v;
      next = i;
    }
  });
  process.stdout.write(`${JSON.stringify({ theta, se, next_item: next })}\n`);
}
