import { z } from 'zod';

/** JSON Schema of a zod schema, without its `$schema` line (the document says which dialect). */
export function jsonSchema(
  schema: z.ZodType,
  options: { io: 'input' | 'output'; target: 'draft-07' | 'draft-2020-12' },
): Record<string, unknown> {
  const out = z.toJSONSchema(schema, { io: options.io, target: options.target, unrepresentable: 'any' }) as Record<string, unknown>;
  delete out['$schema'];
  return out;
}
