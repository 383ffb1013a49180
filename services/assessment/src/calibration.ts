import { Worker } from 'node:worker_threads';
import type { BankItem, CalibrationOptions, CalibrationReport, PolySpec, ResponseRow } from '@ap/cat';
import { AppError } from '@ap/protocol';
import type { ParsedRequestOf, ResponseOf } from '@ap/protocol';
import type { Context } from './context.ts';
import { FINAL } from './rules.ts';

/**
 * Calibrates a test's items from its finished assessments. An admin command, off every request
 * path: it reads every finished assessment of the test (a scan on FerretDB) and runs EM in a worker
 * thread, so that the replica keeps answering candidates meanwhile. Items are shared by tests, so
 * applied parameters serve every test that uses them.
 */
export async function calibrateItems(ctx: Context, req: ParsedRequestOf<'itemsCalibrate'>): Promise<ResponseOf<'itemsCalibrate'>> {
  const test = await ctx.getTest(req.test_id);
  // The scored bank and the pretest items alike: trying items out is what calibration is for.
  // Likert and partial-credit items are fitted with their GRM or GPCM model, from their categories.
  const bank = [...test.bank, ...(test.pretest?.bank ?? [])];
  const specs = bank.map((b): PolySpec | null => (b.poly === undefined ? null : { model: b.poly.model, categories: b.poly.b.length + 1 }));
  const index = new Map(bank.map((b, i) => [b.id, i] as const));
  const finished = await ctx.col.assessments
    .find(
      { test_id: req.test_id, status: { $in: [...FINAL] } },
      { projection: { 'responses.item_id': 1, 'responses.correct': 1, 'responses.category': 1 } },
    )
    .toArray();
  const rows: ResponseRow[] = [];
  for (const a of finished) {
    const row = new Map<number, number>();
    for (const r of a.responses) {
      const j = index.get(r.item_id);
      if (j === undefined) continue;
      const spec = specs[j];
      if (spec === null || spec === undefined) row.set(j, r.correct ? 1 : 0);
      // An answer stored before the item's options changed may lie beyond its categories: left out.
      else if (r.category !== undefined && r.category < spec.categories) row.set(j, r.category);
    }
    if (row.size > 0) rows.push(row);
  }
  if (rows.length === 0)
    throw new AppError('VALIDATION_FAILED', `test ${req.test_id} has no finished assessment with answers to calibrate from`);
  const report = await calibrateInWorker(rows, bank.length, { model: req.model, minResponses: req.min_responses, items: specs });
  const applied = req.apply ? await applyCalibration(ctx, req, bank, report) : 0;
  if (req.apply) ctx.log.info({ test_id: req.test_id, applied, examinees: rows.length }, 'item parameters calibrated and applied');
  return {
    test_id: req.test_id,
    model: report.model,
    examinees: rows.length,
    cycles: report.cycles,
    converged: report.converged,
    applied,
    items: report.items.map((it, j) => {
      const before = bank[j];
      return {
        id: before?.id ?? String(j),
        pretest: test.pretest?.ids.has(before?.id ?? '') === true,
        n: it.n,
        p_value: round(it.pValue),
        estimated: it.estimated,
        a: round(it.a),
        b: round(it.b),
        c: round(it.c),
        ...(it.model === undefined ? {} : { model: it.model }),
        ...(it.thresholds === undefined ? {} : { thresholds: it.thresholds.map(round) }),
        se: {
          a: round(it.se.a),
          b: round(it.se.b),
          ...(it.se.c === undefined ? {} : { c: round(it.se.c) }),
          ...(it.se.thresholds === undefined ? {} : { thresholds: it.se.thresholds.map(round) }),
        },
        fit: it.fit === null ? null : { q1: round(it.fit.q1), df: it.fit.df, p: round(it.fit.p) },
        previous: before === undefined ? { a: 1, b: 0, c: 0 } : previousOf(before),
      };
    }),
  };
}

const round = (x: number): number => Math.round(x * 10_000) / 10_000;

/** The parameters before calibration as the report gives them: a polytomous item's location is the mean of its thresholds. */
function previousOf(item: BankItem): { a: number; b: number; c: number; thresholds?: number[] } {
  if (item.poly === undefined) return { a: item.a, b: item.b, c: item.c };
  return { a: item.poly.a, b: item.poly.b.reduce((s, v) => s + v, 0) / item.poly.b.length, c: 0, thresholds: [...item.poly.b] };
}

/**
 * Stores the estimated parameters on the items: a, b and c of a single choice; a, the thresholds
 * and the model they were fitted with of a likert or partial-credit item. Returns how many.
 */
async function applyCalibration(
  ctx: Context,
  req: ParsedRequestOf<'itemsCalibrate'>,
  bank: readonly BankItem[],
  report: CalibrationReport,
): Promise<number> {
  const at = ctx.clock();
  let applied = 0;
  for (const [j, it] of report.items.entries()) {
    const id = bank[j]?.id;
    if (!it.estimated || id === undefined) continue;
    const calibration = { test_id: req.test_id, model: it.model ?? req.model, n: it.n, at };
    const set =
      it.model === undefined || it.thresholds === undefined
        ? { a: round(it.a), b: round(it.b), c: round(it.c), calibration }
        : { a: round(it.a), model: it.model, thresholds: it.thresholds.map(round), calibration };
    await ctx.col.items.updateOne({ _id: id }, { $set: set });
    applied += 1;
  }
  ctx.forgetTests();
  return applied;
}

/** The longest a calibration may run (the endpoint's handler timeout is a little longer). */
const CALIBRATION_LIMIT_MS = 240_000;
const WORKER = new URL('./calibration-worker.ts', import.meta.url);

/** Runs `calibrate` in a worker thread, stopped after {@link CALIBRATION_LIMIT_MS}. */
function calibrateInWorker(rows: ResponseRow[], itemCount: number, options: CalibrationOptions): Promise<CalibrationReport> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER, { workerData: { rows, itemCount, options } });
    const timer = setTimeout(() => {
      reject(new AppError('SERVICE_UNAVAILABLE', `the calibration took longer than ${CALIBRATION_LIMIT_MS / 1000} s`));
      void worker.terminate();
    }, CALIBRATION_LIMIT_MS);
    worker.once('message', (report: CalibrationReport) => {
      clearTimeout(timer);
      resolve(report);
    });
    worker.once('error', (err: unknown) => {
      clearTimeout(timer);
      reject(
        err instanceof RangeError ? new AppError('VALIDATION_FAILED', err.message) : err instanceof Error ? err : new Error(String(err)),
      );
    });
    worker.once('exit', (code) => {
      clearTimeout(timer);
      if (code !== 0) reject(new Error(`the calibration worker exited with code ${code}`));
    });
  });
}
