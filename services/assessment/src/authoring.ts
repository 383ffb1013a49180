import { randomUUID } from 'node:crypto';
import { parseBankFile, updateExposureFromUsage } from '@ap/cat';
import type { ParsedBankItem } from '@ap/cat';
import { AppError, itemSchema } from '@ap/protocol';
import type { ParsedRequestOf, ResponseOf } from '@ap/protocol';
import { calibrateItems } from './calibration.ts';
import type { Clock, Context, HandlerTable } from './context.ts';
import type { Collections, ItemDoc, TestDoc } from './store.ts';
import { summary } from './views.ts';

/** What authors do: tests, item banks, exposure parameters. */
export function authoringHandlers(ctx: Context): HandlerTable {
  const { col, clock } = ctx;
  return {
    testCreate: async (req) => {
      const res = await createTest(col, req, clock);
      ctx.forgetTests(res.test_id);
      return res;
    },
    itemsImport: async (req) => {
      const res = await importItems(col, req);
      // Tests that use these items see the new version on their next load.
      ctx.forgetTests();
      return res;
    },
    testGet: async (req) => summary(await ctx.getTest(req.test_id)),
    exposureUpdate: (req) => updateExposure(req),
    itemsCalibrate: (req) => calibrateItems(ctx, req),
  };

  /** Recomputes the Sympson–Hetter exposure parameters of a test's items from how often they were given. */
  async function updateExposure(req: ParsedRequestOf<'exposureUpdate'>): Promise<ResponseOf<'exposureUpdate'>> {
    const test = await ctx.getTest(req.test_id);
    const finished = await col.assessments
      .find({ test_id: req.test_id, status: { $in: ['completed', 'expired'] } }, { projection: { 'responses.item_id': 1 } })
      .toArray();
    const usage = new Map<string, { administered: number }>();
    for (const a of finished) {
      for (const r of a.responses) usage.set(r.item_id, { administered: (usage.get(r.item_id)?.administered ?? 0) + 1 });
    }
    const updates = updateExposureFromUsage({
      items: test.bank.map((b) => ({ id: b.id, exposureK: b.exposureK })),
      usage,
      examinees: finished.length,
      rMax: req.r_max,
      minExaminees: req.min_examinees,
    });
    let updated = 0;
    for (const u of updates) {
      if (u.exposureK === u.previousK) continue;
      await col.items.updateOne({ _id: u.id }, { $set: { [`exposure_k.${req.test_id}`]: u.exposureK } });
      updated += 1;
    }
    ctx.forgetTests(req.test_id);
    ctx.log.info({ test_id: req.test_id, examinees: finished.length, updated }, 'exposure parameters updated');
    return {
      examinees: finished.length,
      updated,
      max_exposure_rate: Math.max(0, ...updates.map((u) => u.exposureRate)),
      items: updates.map((u) => ({ id: u.id, exposure_k: u.exposureK, exposure_rate: u.exposureRate })),
    };
  }
}

/** Imports a bank file (JSON or YAML): every item is checked first, so a bad file imports nothing. */
async function importItems(col: Collections, req: ParsedRequestOf<'itemsImport'>): Promise<ResponseOf<'itemsImport'>> {
  const parsed = parseBankFile(req.text, req.format);
  if (!parsed.ok) {
    throw new AppError('VALIDATION_FAILED', `the bank has ${parsed.errors.length} error(s); nothing was imported`, {
      details: { errors: parsed.errors.slice(0, 100) },
    });
  }
  const ids: string[] = [];
  for (const item of parsed.items) {
    const checked = itemSchema.safeParse(item);
    if (!checked.success) {
      throw new AppError('VALIDATION_FAILED', `item ${item.id}: ${checked.error.issues[0]?.message ?? 'invalid'}; nothing was imported`, {
        details: { errors: checked.error.issues.map((i) => ({ item: item.id, field: i.path.join('.'), message: i.message })) },
      });
    }
    ids.push(checked.data.id);
  }
  if (req.caller.role !== 'admin') await refuseReplacing(col, parsed.items);
  for (const item of parsed.items) {
    const { id, ...rest } = item;
    const doc: ItemDoc = { _id: id, ...rest };
    await col.items.replaceOne({ _id: id }, doc, { upsert: true });
  }
  return { imported: ids.length, item_ids: ids };
}

/**
 * Items are shared by every test that names them: an import by a recruiter (from the workspace)
 * adds items and may repeat one unchanged, but never replaces an item that exists with other
 * content, which would change other tests. Admins (the operator's CLI) may replace. One lookup by
 * `_id` per item: a `$in` filter reads the whole collection on FerretDB.
 */
async function refuseReplacing(col: Collections, items: readonly ParsedBankItem[]): Promise<void> {
  const errors: { item: string; field: string; message: string }[] = [];
  const existing = await Promise.all(items.map((item) => col.items.findOne({ _id: item.id }, { projection: { exposure_k: 0 } })));
  items.forEach((item, i) => {
    const stored = existing[i];
    if (stored === null || stored === undefined) return;
    const { _id, ...storedFields } = stored;
    const { id, ...newFields } = item;
    if (sameContent(storedFields, newFields)) return;
    errors.push({ item: id, field: 'id', message: `an item ${_id} exists with other content; give the new item another id` });
  });
  if (errors.length > 0) {
    throw new AppError('VALIDATION_FAILED', `the bank has ${errors.length} error(s); nothing was imported`, {
      details: { errors: errors.slice(0, 100) },
    });
  }
}

/** Whether two plain values hold the same data, whatever the order of their keys. */
function sameContent(a: unknown, b: unknown): boolean {
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => sameContent(x, b[i]));
  }
  if (a !== null && b !== null && typeof a === 'object' && typeof b === 'object') {
    const x = Object.entries(a).filter(([, v]) => v !== undefined);
    const y = new Map(Object.entries(b).filter(([, v]) => v !== undefined));
    return x.length === y.size && x.every(([k, v]) => y.has(k) && sameContent(v, y.get(k)));
  }
  return a === b;
}

async function createTest(col: Collections, req: ParsedRequestOf<'testCreate'>, clock: Clock): Promise<ResponseOf<'testCreate'>> {
  const { definition, items } = req;
  const given = new Set(items.map((i) => i.id));
  if (given.size !== items.length) throw new AppError('VALIDATION_FAILED', 'item ids must be unique');
  const missing = [...definition.items, ...(definition.pretest?.items ?? [])].filter((id) => !given.has(id));
  if (missing.length > 0) {
    const found = await col.items.find({ _id: { $in: missing } }, { projection: { _id: 1 } }).toArray();
    const foundIds = new Set(found.map((f) => f._id));
    const unknown = missing.filter((id) => !foundIds.has(id));
    if (unknown.length > 0) {
      throw new AppError('VALIDATION_FAILED', `unknown items in the pool: ${unknown.slice(0, 5).join(', ')}`, {
        details: { unknown: unknown.slice(0, 50) },
      });
    }
  }
  const now = clock();
  for (const item of items) {
    const { id, ...rest } = item;
    const doc: ItemDoc = { _id: id, ...rest };
    await col.items.replaceOne({ _id: id }, doc, { upsert: true });
  }
  const testId = definition.id ?? randomUUID();
  const { id: _ignored, ...body } = definition;
  const doc: TestDoc = { ...body, _id: testId, created_by: req.caller.user_id, created_at: now, updated_at: now };
  await col.tests.replaceOne({ _id: testId }, doc, { upsert: true });
  return { test_id: testId, items: definition.items.length };
}
