/**
 * SVG plots of a bank or test: test information and standard error curves, and an
 * item's characteristic curves (3PL: P(correct); GRM/GPCM: one curve per category).
 * Pure string building. Every curve is a `<path>` carrying `data-curve` and the data
 * range of its panel (`data-x`, `data-y`, `data-frame`), so a reader can map it back to θ
 * and values.
 */
import { DEFAULT_D } from './irt.ts';
import { categoryProbabilities, isPoly, itemInformation, itemProblem } from './models.ts';
import type { AnyItemParams } from './models.ts';

/** Options of the curve plots. */
export interface CurveOptions {
  D?: number;
  /** θ range (default −4..4). */
  thetaMin?: number;
  thetaMax?: number;
  /** Points per curve (default 161). */
  points?: number;
  title?: string;
}

interface Panel {
  x: number;
  y: number;
  w: number;
  h: number;
  xMin: number;
  xMax: number;
  yMax: number;
}

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function num(v: number): string {
  return Number(v.toFixed(4)).toString();
}

function thetaGrid(opts: CurveOptions): number[] {
  const lo = opts.thetaMin ?? -4;
  const hi = opts.thetaMax ?? 4;
  const n = opts.points ?? 161;
  if (!(Number.isFinite(lo) && Number.isFinite(hi) && lo < hi))
    throw new RangeError(`θ range must be finite with min < max, got ${lo}..${hi}`);
  if (!Number.isInteger(n) || n < 2 || n > 10_000) throw new RangeError(`points must be an integer in 2..10000, got ${n}`);
  return Array.from({ length: n }, (_, j) => lo + ((hi - lo) * j) / (n - 1));
}

function sx(p: Panel, v: number): number {
  return p.x + ((v - p.xMin) / (p.xMax - p.xMin)) * p.w;
}

function sy(p: Panel, v: number): number {
  return p.y + p.h - (Math.min(v, p.yMax) / p.yMax) * p.h;
}

function frame(p: Panel, xLabel: string, yLabel: string): string[] {
  const out = [`<rect x="${p.x}" y="${p.y}" width="${p.w}" height="${p.h}" fill="#fff" stroke="#999"/>`];
  for (let j = 0; j <= 4; j++) {
    const v = (p.yMax * j) / 4;
    const y = sy(p, v).toFixed(1);
    out.push(`<line x1="${p.x}" y1="${y}" x2="${p.x + p.w}" y2="${y}" stroke="#eee"/>`);
    out.push(`<text x="${p.x - 6}" y="${y}" text-anchor="end" dominant-baseline="middle" font-size="11">${num(v)}</text>`);
  }
  for (let t = Math.ceil(p.xMin); t <= Math.floor(p.xMax); t++) {
    const x = sx(p, t).toFixed(1);
    out.push(`<text x="${x}" y="${p.y + p.h + 16}" text-anchor="middle" font-size="11">${t}</text>`);
  }
  out.push(`<text x="${p.x + p.w / 2}" y="${p.y + p.h + 34}" text-anchor="middle" font-size="12">${esc(xLabel)}</text>`);
  const ly = p.y + p.h / 2;
  out.push(
    `<text x="${p.x - 44}" y="${ly}" text-anchor="middle" font-size="12" transform="rotate(-90 ${p.x - 44} ${ly})">${esc(yLabel)}</text>`,
  );
  return out;
}

function curve(p: Panel, name: string, xs: readonly number[], ys: readonly number[], color: string, dash = ''): string {
  const d = xs.map((x, j) => `${j === 0 ? 'M' : 'L'}${sx(p, x).toFixed(2)},${sy(p, ys[j] as number).toFixed(2)}`).join(' ');
  return `<path data-curve="${esc(name)}" data-x="${num(p.xMin)} ${num(p.xMax)}" data-y="0 ${num(p.yMax)}" data-frame="${p.x} ${p.y} ${p.w} ${p.h}" d="${d}" fill="none" stroke="${color}" stroke-width="2"${dash ? ` stroke-dasharray="${dash}"` : ''}/>`;
}

function doc(W: number, H: number, title: string, body: string[]): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif">`,
    `<rect width="${W}" height="${H}" fill="#fafafa"/>`,
    `<text x="${W / 2}" y="24" text-anchor="middle" font-size="15" font-weight="bold">${esc(title)}</text>`,
    ...body,
    '</svg>',
  ].join('\n');
}

function checkItems(items: readonly AnyItemParams[]): void {
  items.forEach((it, i) => {
    const problem = itemProblem(it);
    if (problem !== undefined) throw new RangeError(`item ${i}: ${problem}`);
  });
}

/**
 * Test information I(θ) = Σ I_i(θ) and the standard error 1/√I(θ) of a bank or test, in two
 * panels. The SE panel is capped at 2 (or the largest SE if smaller).
 */
export function renderInformationSvg(items: readonly AnyItemParams[], opts: CurveOptions = {}): string {
  if (items.length === 0) throw new RangeError('renderInformationSvg: no items');
  checkItems(items);
  const D = opts.D ?? DEFAULT_D;
  const thetas = thetaGrid(opts);
  const info = thetas.map((t) => items.reduce((s, it) => s + itemInformation(it, t, D), 0));
  const se = info.map((v) => 1 / Math.sqrt(v));
  const xMin = thetas[0] as number;
  const xMax = thetas.at(-1) as number;
  const left: Panel = { x: 70, y: 50, w: 360, h: 300, xMin, xMax, yMax: niceMax(Math.max(...info)) };
  const right: Panel = { x: 560, y: 50, w: 360, h: 300, xMin, xMax, yMax: niceMax(Math.min(2, Math.max(...se))) };
  const title = opts.title ?? `Test information and standard error (${items.length} items)`;
  return doc(960, 400, title, [
    ...frame(left, 'θ', 'test information'),
    curve(left, 'information', thetas, info, '#1f77b4'),
    ...frame(right, 'θ', 'standard error'),
    curve(right, 'se', thetas, se, '#d62728'),
  ]);
}

/**
 * Characteristic curves of one item: for a 3PL item P(correct | θ), for a GRM or GPCM item
 * P(X = k | θ) for every category k, each with its legend, and the item information.
 */
export function renderItemCurvesSvg(item: AnyItemParams, opts: CurveOptions & { label?: string } = {}): string {
  checkItems([item]);
  const D = opts.D ?? DEFAULT_D;
  const thetas = thetaGrid(opts);
  const probs = thetas.map((t) => categoryProbabilities(item, t, D));
  const m = (probs[0] as Float64Array).length;
  const xMin = thetas[0] as number;
  const xMax = thetas.at(-1) as number;
  const left: Panel = { x: 70, y: 50, w: 360, h: 300, xMin, xMax, yMax: 1 };
  const body = frame(left, 'θ', 'probability');
  // 3PL: the probability of a correct answer; GRM/GPCM: every category.
  const curves = isPoly(item) ? Array.from({ length: m }, (_, k) => k) : [1];
  curves.forEach((k, j) => {
    const color = COLORS[j % COLORS.length] as string;
    const name = isPoly(item) ? `P(X=${k})` : 'P(correct)';
    body.push(
      curve(
        left,
        name,
        thetas,
        probs.map((p) => p[k] as number),
        color,
      ),
    );
    const ly = left.y + 14 + 16 * j;
    body.push(`<line x1="${left.x + 8}" y1="${ly}" x2="${left.x + 28}" y2="${ly}" stroke="${color}" stroke-width="2"/>`);
    body.push(`<text x="${left.x + 32}" y="${ly + 4}" font-size="11">${esc(name)}</text>`);
  });
  const info = thetas.map((t) => itemInformation(item, t, D));
  const right: Panel = { x: 560, y: 50, w: 360, h: 300, xMin, xMax, yMax: niceMax(Math.max(...info)) };
  body.push(...frame(right, 'θ', 'item information'), curve(right, 'information', thetas, info, '#1f77b4'));
  const title =
    opts.title ??
    `Item ${opts.label === undefined ? '' : `${opts.label} `}(${isPoly(item) ? item.model : '3PL'}): characteristic curves and information`;
  return doc(960, 400, title, body);
}

/** A round upper bound ≥ v for an axis (1, 2 or 5 × 10^k). */
function niceMax(v: number): number {
  if (!(v > 0) || !Number.isFinite(v)) return 1;
  const mag = 10 ** Math.floor(Math.log10(v));
  for (const f of [1, 2, 2.5, 5, 10]) if (f * mag >= v) return f * mag;
  return 10 * mag;
}
