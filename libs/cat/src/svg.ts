/**
 * Hand-written SVG report for simulations: RMSE and mean SE by test length, and
 * an item exposure histogram. Pure string building, no dependencies.
 */
import type { SimulationResult } from './simulate.ts';

/** Options of {@link renderSimulationSvg}. */
export interface SvgOptions {
  title?: string;
  /** Draw a reference line at this exposure rate (e.g. the Sympson–Hetter r_max). */
  rMax?: number;
  /** Number of histogram bins over [0, max exposure] (default 20). */
  bins?: number;
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function fmt(x: number): string {
  return Number.isInteger(x) ? String(x) : x.toFixed(2);
}

/** "Nice" tick step for a range. */
function tickStep(range: number, target: number): number {
  const raw = range / Math.max(1, target);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const n = raw / mag;
  return (n <= 1 ? 1 : n <= 2 ? 2 : n <= 5 ? 5 : 10) * mag;
}

interface Frame {
  x: number;
  y: number;
  w: number;
  h: number;
}

function axes(
  f: Frame,
  xMin: number,
  xMax: number,
  yMax: number,
  xLabel: string,
  yLabel: string,
  xTicksInt: boolean,
): { sx: (v: number) => number; sy: (v: number) => number; svg: string[] } {
  const sx = (v: number): number => f.x + ((v - xMin) / (xMax - xMin || 1)) * f.w;
  const sy = (v: number): number => f.y + f.h - (v / (yMax || 1)) * f.h;
  const out: string[] = [];
  out.push(`<rect x="${f.x}" y="${f.y}" width="${f.w}" height="${f.h}" fill="#fff" stroke="#999"/>`);
  const ys = tickStep(yMax, 5);
  for (let v = 0; v <= yMax + 1e-9; v += ys) {
    const y = sy(v).toFixed(1);
    out.push(`<line x1="${f.x}" y1="${y}" x2="${f.x + f.w}" y2="${y}" stroke="#eee"/>`);
    out.push(
      `<text x="${f.x - 6}" y="${y}" text-anchor="end" dominant-baseline="middle" font-size="11">${fmt(Number(v.toFixed(6)))}</text>`,
    );
  }
  let xs = tickStep(xMax - xMin, 8);
  if (xTicksInt) xs = Math.max(1, Math.round(xs));
  for (let v = Math.ceil(xMin / xs) * xs; v <= xMax + 1e-9; v += xs) {
    const x = sx(v).toFixed(1);
    out.push(`<line x1="${x}" y1="${f.y + f.h}" x2="${x}" y2="${f.y + f.h + 4}" stroke="#666"/>`);
    out.push(`<text x="${x}" y="${f.y + f.h + 16}" text-anchor="middle" font-size="11">${fmt(Number(v.toFixed(6)))}</text>`);
  }
  out.push(`<text x="${f.x + f.w / 2}" y="${f.y + f.h + 34}" text-anchor="middle" font-size="12">${esc(xLabel)}</text>`);
  out.push(
    `<text x="${f.x - 42}" y="${f.y + f.h / 2}" text-anchor="middle" font-size="12" transform="rotate(-90 ${f.x - 42} ${f.y + f.h / 2})">${esc(yLabel)}</text>`,
  );
  return { sx, sy, svg: out };
}

/** Render a simulation result as a standalone SVG document. */
export function renderSimulationSvg(result: SimulationResult, opts: SvgOptions = {}): string {
  const W = 960;
  const H = 420;
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif">`);
  parts.push(`<rect width="${W}" height="${H}" fill="#fafafa"/>`);
  const title =
    opts.title ??
    `CAT simulation: ${result.simulees} simulees, RMSE ${result.rmse.toFixed(3)}, bias ${result.bias.toFixed(3)}, max exposure ${result.maxExposure.toFixed(3)}`;
  parts.push(`<text x="${W / 2}" y="24" text-anchor="middle" font-size="15" font-weight="bold">${esc(title)}</text>`);

  // Left panel: RMSE and mean SE by test length.
  const bl = result.byLength;
  const left: Frame = { x: 70, y: 50, w: 360, h: 300 };
  const xMax = Math.max(1, ...bl.map((s) => s.length));
  const yTop = Math.max(0.1, ...bl.map((s) => Math.max(s.rmse, s.meanSe)));
  const yMax = Math.ceil(yTop * 10) / 10;
  const A = axes(left, 1, Math.max(2, xMax), yMax, 'test length (items)', 'RMSE / mean SE', true);
  parts.push(...A.svg);
  const line = (vals: [number, number][], color: string, dash: string): void => {
    if (vals.length === 0) return;
    const d = vals.map(([x, y], i) => `${i === 0 ? 'M' : 'L'}${A.sx(x).toFixed(1)},${A.sy(y).toFixed(1)}`).join(' ');
    parts.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="2"${dash ? ` stroke-dasharray="${dash}"` : ''}/>`);
    for (const [x, y] of vals) parts.push(`<circle cx="${A.sx(x).toFixed(1)}" cy="${A.sy(y).toFixed(1)}" r="2.5" fill="${color}"/>`);
  };
  line(
    bl.map((s) => [s.length, s.rmse]),
    '#d62728',
    '',
  );
  line(
    bl.map((s) => [s.length, s.meanSe]),
    '#1f77b4',
    '6 3',
  );
  const lx = left.x + left.w - 130;
  parts.push(`<rect x="${lx}" y="${left.y + 8}" width="122" height="44" fill="#fff" stroke="#ccc"/>`);
  parts.push(`<line x1="${lx + 8}" y1="${left.y + 22}" x2="${lx + 32}" y2="${left.y + 22}" stroke="#d62728" stroke-width="2"/>`);
  parts.push(`<text x="${lx + 38}" y="${left.y + 26}" font-size="11">RMSE</text>`);
  parts.push(
    `<line x1="${lx + 8}" y1="${left.y + 40}" x2="${lx + 32}" y2="${left.y + 40}" stroke="#1f77b4" stroke-width="2" stroke-dasharray="6 3"/>`,
  );
  parts.push(`<text x="${lx + 38}" y="${left.y + 44}" font-size="11">mean SE</text>`);

  // Right panel: exposure histogram.
  const right: Frame = { x: 560, y: 50, w: 360, h: 300 };
  const rates = result.exposureRates;
  const bins = Math.max(2, Math.floor(opts.bins ?? 20));
  const hiRate = Math.max(0.05, result.maxExposure, opts.rMax ?? 0);
  const width = hiRate / bins;
  const counts = new Array<number>(bins).fill(0);
  for (const r of rates) {
    const b = Math.min(bins - 1, Math.floor(r / width));
    counts[b] = (counts[b] ?? 0) + 1;
  }
  const cMax = Math.max(1, ...counts);
  const B = axes(right, 0, hiRate, cMax * 1.05, 'exposure rate (share of simulees)', 'items', false);
  parts.push(...B.svg);
  counts.forEach((c, i) => {
    const x0 = B.sx(i * width);
    const x1 = B.sx((i + 1) * width);
    const y = B.sy(c);
    parts.push(
      `<rect x="${(x0 + 0.5).toFixed(1)}" y="${y.toFixed(1)}" width="${Math.max(0, x1 - x0 - 1).toFixed(1)}" height="${(right.y + right.h - y).toFixed(1)}" fill="#2ca02c"><title>${(i * width).toFixed(3)}–${((i + 1) * width).toFixed(3)}: ${c} items</title></rect>`,
    );
    if (c > 0)
      parts.push(`<text x="${((x0 + x1) / 2).toFixed(1)}" y="${(y - 3).toFixed(1)}" text-anchor="middle" font-size="9">${c}</text>`);
  });
  if (opts.rMax !== undefined) {
    const x = B.sx(opts.rMax).toFixed(1);
    parts.push(`<line x1="${x}" y1="${right.y}" x2="${x}" y2="${right.y + right.h}" stroke="#d62728" stroke-dasharray="4 3"/>`);
    parts.push(`<text x="${x}" y="${right.y - 4}" text-anchor="middle" font-size="11" fill="#d62728">r_max ${opts.rMax}</text>`);
  }
  const foot = `mean length ${result.meanLength.toFixed(1)} · mean SE ${result.meanSe.toFixed(3)} · unused items ${(100 * result.unusedShare).toFixed(1)}% · overlap ${result.overlapRate.toFixed(3)}`;
  parts.push(`<text x="${W / 2}" y="${H - 12}" text-anchor="middle" font-size="12" fill="#444">${esc(foot)}</text>`);
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}
