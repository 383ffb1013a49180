/**
 * CLI for the CAT engine: `estimate`, `simulate`, `import-check`, `plot`.
 * Run with `npm run cat -- <command>`.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { parseBankFile } from './bank-file.ts';
import type { ParsedBankItem } from './bank-file.ts';
import { classificationRuleSchema, simulateClassification } from './classify.ts';
import { bankItemSchema } from './config.ts';
import type { CatConfig } from './config.ts';
import { ESTIMATION_METHODS } from './methods.ts';
import { MAX_A, MAX_ABS_B } from './models.ts';
import { generateBank, simulateCat } from './simulate.ts';
import type { SimItem, SimulationResult } from './simulate.ts';
import { renderSimulationSvg } from './svg.ts';
import { renderInformationSvg } from './curves-svg.ts';
import { UsageError, fail, issuePath } from './cli-common.ts';
import { cmdEstimate, dichotomousEntry } from './cli-estimate.ts';
import { applyExposureFlags, calibrateFromFlags, parseExposureFlags } from './cli-exposure.ts';
import { cmdPlot } from './cli-plot.ts';

const USAGE = `usage: npm run cat -- <command>

commands:
  estimate [file]          θ/SE and next item (max information) from JSON
                           {"bank": [[a,b,c] | {"model":"GRM"|"GPCM","a":a,"b":[b1,...]},...],
                            "administered": [i,...], "responses": [category,...],
                            "method": "EAP"|"MAP"|"ML"|"WLE" (default EAP), "D": d, "prior": {"mean","sd"}}
                           read from file or stdin; prints {"theta","se","next_item"}
  simulate [options]       Monte-Carlo CAT simulation (EAP + maximum information, start θ=0)
      --bank <file.json|generated>   bank: JSON array of [a,b,c], {"bank": [[a,b,c],...]},
                                     engine items {id,skill,a,b,c} or a bank file (JSON/YAML)
      --generate <n>                 generated 3PL bank of n items (default 300 with --bank generated)
      --simulees <N>                 number of simulees (default 1000)
      --length <L>                   maximum (fixed) test length (default 20)
      --min-items <m> --se-target <s>  variable-length stopping (optional)
      --randomesque <k>              randomesque exposure control
      --sympson-hetter <rmax>        calibrate Sympson–Hetter K (iterated simulation), then simulate
      --conditional-sh <rmax>        calibrate conditional Sympson–Hetter K per θ stratum instead
      --theta-cuts=<c1,c2,...>       its θ cut points (default 7 strata of equal width over [-3, 3];
                                     write it with "=" when the first cut is negative)
      --a-strata <K> [--b-blocking]  a-stratified selection: K strata by ascending a (within
                                     b blocks), the closest b to θ̂ in the step's stratum
      --sh-iterations <n> --sh-simulees <n>  calibration settings (default 12 × 2000)
      --seed <s>                     seed (default "cat")
      --method EAP|MAP|ML|WLE        estimator (default EAP; ML uses EAP while all answers agree)
      --cut-theta <θ> [--classify sprt|ci] [--delta 0.3] [--alpha 0.05] [--beta 0.05]
                      [--select-at estimate|cut]
                                     classification test instead: decision accuracy and mean
                                     length (--min-items..--length items)
      --svg <out.svg> --json <out.json>
      --plots <dir>                  dir/simulation.svg (as --svg) and dir/test-information.svg
                                     (test information and SE curves of the bank)
  import-check <file>      validate a bank file (.json, .yaml, .yml)
  plot --bank <file> --out <dir> [--items id,...] [--theta-min -4] [--theta-max 4]
                           SVG plots: test information and SE of the bank (test-information.svg)
                           and each item's characteristic curves and information (item-<id>.svg);
                           the bank in any form simulate accepts
`;

/** Progress reporter on stderr: a bar on a TTY, otherwise a line every 10%. */
function progress(label: string): { update: (done: number, total: number) => void; done: () => void } {
  const tty = process.stderr.isTTY;
  let lastDecile = -1;
  let lastDraw = 0;
  return {
    update(done: number, total: number): void {
      if (tty) {
        const now = Date.now();
        if (done !== total && now - lastDraw < 80) return;
        lastDraw = now;
        const width = 30;
        const filled = Math.round((done / total) * width);
        const pct = Math.floor((100 * done) / total);
        process.stderr.write(
          `\r${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${String(pct).padStart(3)}% ${done}/${total}`,
        );
      } else {
        const decile = Math.floor((10 * done) / total);
        if (decile !== lastDecile) {
          lastDecile = decile;
          process.stderr.write(`${label}: ${done}/${total} (${decile * 10}%)\n`);
        }
      }
    },
    done(): void {
      if (tty) process.stderr.write('\n');
    },
  };
}

function intOpt(v: string | undefined, name: string, def: number, min = 1): number {
  if (v === undefined) return def;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`--${name} must be an integer >= ${min}, got "${v}"`);
  return n;
}

function numOpt(v: string | undefined, name: string, lo: number, hi: number): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= lo || n > hi) throw new UsageError(`--${name} must be a number in (${lo}, ${hi}], got "${v}"`);
  return n;
}

function issueLines(issues: readonly z.core.$ZodIssue[], prefix: string): string {
  return issues
    .slice(0, 20)
    .map((i) => `  ${prefix}${issuePath(i.path)}: ${i.message}`)
    .join('\n');
}

/** The engine's form of a bank-file item: a likert or partial-credit item with its GRM/GPCM parameters. */
function simItemOf(item: ParsedBankItem): SimItem {
  if (item.type === 'single_choice') return item;
  return { id: item.id, skill: item.skill, a: item.a, b: 0, c: 0, poly: { model: item.model, a: item.a, b: item.thresholds } };
}

function loadSimBank(file: string): SimItem[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    fail(`simulate: cannot read bank ${file}: ${err instanceof Error ? err.message : String(err)}`);
  }
  const ext = extname(file).toLowerCase();
  if (ext === '.yaml' || ext === '.yml') {
    const r = parseBankFile(text, 'yaml');
    if (!r.ok) fail(`simulate: invalid bank file:\n${r.errors.map((e) => `  item ${e.item}, ${e.field}: ${e.message}`).join('\n')}`);
    return r.items.map(simItemOf);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    fail(`simulate: bank is not valid JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  const hasBank = raw !== null && typeof raw === 'object' && !Array.isArray(raw) && 'bank' in raw;
  const list: unknown = hasBank ? (raw as { bank: unknown }).bank : raw;
  // The first entry tells which form was meant, so the errors are about that form.
  const first: unknown = Array.isArray(list) ? list[0] : undefined;
  if (hasBank || Array.isArray(first)) {
    const t = z.array(dichotomousEntry).min(1).safeParse(list);
    if (t.success) return t.data.map(([a, b, c], i) => ({ id: String(i), a, b, c }));
    fail(
      `simulate: invalid bank (a list of [a,b,c] with 0 < a ≤ ${MAX_A}, |b| ≤ ${MAX_ABS_B}, 0 ≤ c < 1):\n${issueLines(t.error.issues, hasBank ? 'bank' : '')}`,
    );
  }
  const engine = z.array(bankItemSchema).min(1).safeParse(list);
  if (engine.success) return engine.data;
  const r = parseBankFile(text, 'json');
  if (r.ok) return r.items.map(simItemOf);
  const looksEngine = first !== null && typeof first === 'object' && 'a' in first && 'skill' in first && !('options' in first);
  if (looksEngine) fail(`simulate: invalid bank of engine items {id,skill,a,b,c}:\n${issueLines(engine.error.issues, '')}`);
  fail(
    `simulate: invalid bank file:\n${r.errors
      .slice(0, 20)
      .map((e) => `  item ${e.item}, ${e.field}: ${e.message}`)
      .join('\n')}`,
  );
}

function summaryLines(label: string, r: SimulationResult, rMax: number | undefined): string[] {
  const conditional = r.byThetaStratum;
  const extra: string[] = [];
  if (rMax !== undefined) extra.push(`  items above r_max   ${r.exposureRates.filter((x) => x > rMax).length}`);
  if (conditional) {
    const maxIn = conditional.exposureRates.map((row) => Math.max(0, ...row).toFixed(3));
    extra.push(`  max exposure by true-θ stratum ${maxIn.join(' ')} (simulees ${conditional.simulees.join(' ')})`);
  }
  return [
    label,
    `  simulees            ${r.simulees}`,
    `  RMSE                ${r.rmse.toFixed(4)}`,
    `  bias                ${r.bias.toFixed(4)}`,
    `  mean SE             ${r.meanSe.toFixed(4)}`,
    `  mean test length    ${r.meanLength.toFixed(2)}`,
    `  exposure max        ${r.maxExposure.toFixed(4)}`,
    `  exposure mean       ${r.meanExposure.toFixed(4)}`,
    `  unused items        ${(100 * r.unusedShare).toFixed(1)}%`,
    `  test overlap rate   ${r.overlapRate.toFixed(4)}`,
    `  stop reasons        ${JSON.stringify(r.stopReasons)}`,
    ...extra,
  ];
}

function cmdSimulate(args: string[]): void {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      bank: { type: 'string' },
      generate: { type: 'string' },
      simulees: { type: 'string' },
      length: { type: 'string' },
      'min-items': { type: 'string' },
      'se-target': { type: 'string' },
      randomesque: { type: 'string' },
      'sympson-hetter': { type: 'string' },
      'conditional-sh': { type: 'string' },
      'theta-cuts': { type: 'string' },
      'a-strata': { type: 'string' },
      'b-blocking': { type: 'boolean' },
      'sh-iterations': { type: 'string' },
      'sh-simulees': { type: 'string' },
      seed: { type: 'string' },
      method: { type: 'string' },
      'cut-theta': { type: 'string' },
      classify: { type: 'string' },
      delta: { type: 'string' },
      alpha: { type: 'string' },
      beta: { type: 'string' },
      'select-at': { type: 'string' },
      svg: { type: 'string' },
      json: { type: 'string' },
      plots: { type: 'string' },
    },
  });
  if (positionals.length > 0) throw new UsageError(`simulate: unexpected argument "${positionals[0]}"`);
  const seed = values.seed ?? 'cat';
  const simulees = intOpt(values.simulees, 'simulees', 1000);
  const length = intOpt(values.length, 'length', 20);
  const minItems = values['min-items'] !== undefined ? intOpt(values['min-items'], 'min-items', 1, 0) : length;
  const seTarget = numOpt(values['se-target'], 'se-target', 0, 10);
  const randomesque = intOpt(values.randomesque, 'randomesque', 1);
  if (minItems > length) throw new UsageError('--min-items must not exceed --length');

  let items: SimItem[];
  let bankLabel: string;
  if (values.bank === undefined || values.bank === 'generated') {
    const size = intOpt(values.generate, 'generate', 300);
    items = generateBank({ size, seed });
    bankLabel = `generated 3PL bank (${size} items; a~N(1.2,0.25), b~N(0,1), c~N(0.25,0.02); seed ${seed})`;
  } else {
    if (values.generate !== undefined) throw new UsageError('use either --bank <file> or --generate <n>');
    items = loadSimBank(values.bank);
    bankLabel = `${values.bank} (${items.length} items)`;
  }
  if (length > items.length) throw new UsageError(`--length ${length} exceeds the bank size ${items.length}`);
  const flags = parseExposureFlags(values, length);
  const rMax = flags['sympson-hetter'] ?? flags['conditional-sh'];
  if (values['cut-theta'] !== undefined || values.classify !== undefined) {
    if (rMax !== undefined || flags['a-strata'] !== undefined) throw new UsageError('exposure options do not apply to --cut-theta');
    runClassification(values, { items, bankLabel, simulees, minItems, length, seed });
    return;
  }

  const method = z.enum(ESTIMATION_METHODS).safeParse(values.method ?? 'EAP');
  if (!method.success) throw new UsageError(`--method must be one of ${ESTIMATION_METHODS.join(', ')}, got "${String(values.method)}"`);
  const config: CatConfig = { minItems, maxItems: length, randomesque, method: method.data };
  if (seTarget !== undefined) config.seTarget = seTarget;
  applyExposureFlags(config, flags);
  const log: string[] = [`bank: ${bankLabel}`];
  let bar = progress('calibrating iteration 1');
  const cal = calibrateFromFlags(config, flags, {
    items,
    seed,
    iterations: intOpt(values['sh-iterations'], 'sh-iterations', 12),
    simulees: intOpt(values['sh-simulees'], 'sh-simulees', 2000),
    progress: (t, d, n) => {
      if (d === 1 && t > 1) bar = progress(`calibrating iteration ${t}`);
      bar.update(d, n);
      if (d === n) bar.done();
    },
  });
  log.push(...cal.log);
  const { exposureK, exposureKByStratum, calibration } = cal;
  bar = progress('simulating');
  const result = simulateCat({
    items,
    simulees,
    config,
    seed,
    ...(exposureK ? { exposureK } : {}),
    ...(exposureKByStratum ? { exposureKByStratum } : {}),
    onProgress: (d, n) => bar.update(d, n),
  });
  bar.done();
  const label = `${method.data} + max information, length ${minItems === length ? length : `${minItems}..${length}`}${
    seTarget !== undefined ? `, SE target ${seTarget}` : ''
  }${randomesque > 1 ? `, randomesque k=${randomesque}` : ''}${cal.label}`;
  process.stdout.write([...log, ...summaryLines(label, result, rMax)].join('\n') + '\n');
  if (values.svg) {
    writeFileSync(values.svg, renderSimulationSvg(result, rMax !== undefined ? { rMax } : {}));
    process.stderr.write(`wrote ${values.svg}\n`);
  }
  if (values.plots) writeSimulationPlots(values.plots, items, renderSimulationSvg(result, rMax !== undefined ? { rMax } : {}));
  if (values.json) {
    const { results, ...summary } = result;
    const out = {
      bank: bankLabel,
      config,
      ...summary,
      ...(exposureK ? { exposureK } : {}),
      ...(exposureKByStratum ? { exposureKByStratum } : {}),
      ...(calibration === undefined ? {} : { calibration }),
      simuleeResults: results.map((r) => ({ trueTheta: r.trueTheta, theta: r.theta, se: r.se, length: r.length })),
    };
    writeFileSync(values.json, JSON.stringify(out, null, 2) + '\n');
    process.stderr.write(`wrote ${values.json}\n`);
  }
}

/** simulate --plots DIR: the simulation report and the bank's test information / SE curves. */
function writeSimulationPlots(dir: string, items: readonly SimItem[], report: string): void {
  try {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'simulation.svg'), report);
    writeFileSync(join(dir, 'test-information.svg'), renderInformationSvg(items.map((it) => it.poly ?? { a: it.a, b: it.b, c: it.c })));
  } catch (err) {
    fail(`simulate: cannot write plots to ${dir}: ${err instanceof Error ? err.message : String(err)}`);
  }
  process.stderr.write(`wrote ${join(dir, 'simulation.svg')} and ${join(dir, 'test-information.svg')}\n`);
}

interface ClassificationRun {
  items: SimItem[];
  bankLabel: string;
  simulees: number;
  minItems: number;
  length: number;
  seed: string;
}

function runClassification(values: Record<string, string | boolean | undefined>, run: ClassificationRun): void {
  const num = (name: string, def: number): number => {
    const v = values[name];
    if (v === undefined) return def;
    const n = Number(v);
    if (typeof v !== 'string' || v.trim() === '' || !Number.isFinite(n))
      throw new UsageError(`--${name} must be a number, got "${String(v)}"`);
    return n;
  };
  const kind = String(values.classify ?? 'sprt').toUpperCase();
  const raw =
    kind === 'SPRT'
      ? { rule: kind, cutTheta: num('cut-theta', NaN), delta: num('delta', 0.3), alpha: num('alpha', 0.05), beta: num('beta', 0.05) }
      : { rule: kind, cutTheta: num('cut-theta', NaN), alpha: num('alpha', 0.05) };
  const parsed = classificationRuleSchema.safeParse(raw);
  if (!parsed.success) {
    throw new UsageError(
      `simulate: invalid classification settings:\n${issueLines(parsed.error.issues, '--')}\n(--cut-theta is required; --classify sprt|ci)`,
    );
  }
  const selectAt = values['select-at'] ?? 'estimate';
  if (selectAt !== 'estimate' && selectAt !== 'cut') throw new UsageError('--select-at must be "estimate" or "cut"');
  const rule = parsed.data;
  const r = simulateClassification({
    items: run.items,
    rule,
    simulees: run.simulees,
    minItems: Math.min(run.minItems, run.length),
    maxItems: run.length,
    seed: run.seed,
    selectAt,
  });
  const ruleText =
    rule.rule === 'SPRT'
      ? `SPRT cut ${rule.cutTheta} ± ${rule.delta}, α ${rule.alpha}, β ${rule.beta}`
      : `CI rule cut ${rule.cutTheta}, α ${rule.alpha} (one-sided)`;
  process.stdout.write(
    [
      `bank: ${run.bankLabel}`,
      `${ruleText}; items ${run.minItems}..${run.length}; selection at the ${selectAt}; θ ~ N(0,1)`,
      `  simulees               ${r.simulees}`,
      `  mean test length       ${r.meanLength.toFixed(2)}`,
      `  decided                ${(100 * r.decidedShare).toFixed(1)}%`,
      `  accuracy (decided)     ${(100 * r.accuracyDecided).toFixed(1)}%`,
      `  accuracy (all; undecided = wrong)            ${(100 * r.accuracy).toFixed(1)}%`,
      `  accuracy (all; undecided classified by θ̂)   ${(100 * r.accuracyWithFallback).toFixed(1)}%`,
      `  false pass / false fail                      ${(100 * r.falsePass).toFixed(1)}% / ${(100 * r.falseFail).toFixed(1)}%`,
    ].join('\n') + '\n',
  );
}

function cmdImportCheck(args: string[]): void {
  const file = args[0];
  if (file === undefined || args.length > 1) throw new UsageError('import-check takes exactly one file');
  const ext = extname(file).toLowerCase();
  const format = ext === '.yaml' || ext === '.yml' ? 'yaml' : ext === '.json' ? 'json' : undefined;
  if (!format) throw new UsageError(`import-check: unknown file extension "${ext}" (use .json, .yaml or .yml)`);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    fail(`import-check: cannot read ${file}: ${err instanceof Error ? err.message : String(err)}`);
  }
  const r = parseBankFile(text, format);
  if (!r.ok) {
    process.stdout.write(`${file}: ${r.errors.length} error(s); nothing would be imported\n`);
    for (const e of r.errors) process.stdout.write(`  item ${JSON.stringify(e.item)}, field ${e.field}: ${e.message}\n`);
    process.exitCode = 1;
    return;
  }
  const skills = new Map<string, number>();
  for (const it of r.items) skills.set(it.skill, (skills.get(it.skill) ?? 0) + 1);
  process.stdout.write(`${file}: ${r.items.length} item(s) OK\n`);
  for (const [s, n] of [...skills].sort()) process.stdout.write(`  ${s}: ${n}\n`);
}

async function main(argv: string[]): Promise<void> {
  const [cmd, ...rest] = argv;
  try {
    switch (cmd) {
      case 'estimate':
        await cmdEstimate(rest);
        break;
      case 'simulate':
        cmdSimulate(rest);
        break;
      case 'import-check':
        cmdImportCheck(rest);
        break;
      case 'plot':
        cmdPlot(rest, loadSimBank);
        break;
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        process.stdout.write(USAGE);
        if (cmd === undefined) process.exitCode = 2;
        break;
      default:
        throw new UsageError(`unknown command "${cmd}"`);
    }
  } catch (err) {
    if (err instanceof UsageError || (err instanceof TypeError && 'code' in err && String(err.code).startsWith('ERR_PARSE_ARGS'))) {
      fail(`${err.message}\n\n${USAGE}`);
    }
    throw err;
  }
}

await main(process.argv.slice(2));
