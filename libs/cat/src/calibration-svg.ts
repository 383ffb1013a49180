/**
 * The item map of a calibration as a standalone SVG: each item at (b, a) with ±1 SE bars, items
 * whose Q1 fit is rejected at 1% in red, and, when given, the parameters before calibration as
 * grey rings joined to the new ones. A GRM or GPCM item stands at its location (mean threshold).
 * Pure string building.
 */
import type { CalibrationReport } from './calibrate.ts';

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const num = (x: number): string => (Math.round(x * 10) / 10).toFixed(1);

/** Options of {@link renderCalibrationSvg}. */
export interface CalibrationSvgOptions {
  title?: string;
  /** Item ids in report order, shown on hover. */
  ids?: readonly string[];
  /** Parameters before calibration, in report order. */
  previous?: readonly { a: number; b: number }[];
}

/** Renders the item map of a calibration report. */
export function renderCalibrationSvg(report: CalibrationReport, opts: CalibrationSvgOptions = {}): string {
  const W = 720;
  const H = 460;
  const f = { x: 70, y: 50, w: W - 110, h: H - 110 };
  const shown = report.items.map((it, i) => ({ it, i })).filter((e) => e.it.estimated);
  const bs = shown.flatMap(({ it, i }) => [it.b - it.se.b, it.b + it.se.b, opts.previous?.[i]?.b ?? it.b]);
  const as = shown.flatMap(({ it, i }) => [it.a - it.se.a, it.a + it.se.a, opts.previous?.[i]?.a ?? it.a]);
  const xMin = Math.floor(Math.min(-3, ...bs));
  const xMax = Math.ceil(Math.max(3, ...bs));
  const yMin = 0;
  const yMax = Math.ceil(Math.max(2, ...as) * 2) / 2;
  const sx = (v: number): number => f.x + ((v - xMin) / (xMax - xMin)) * f.w;
  const sy = (v: number): number => f.y + f.h - ((v - yMin) / (yMax - yMin)) * f.h;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif">`,
    `<title>${esc(opts.title ?? 'Item calibration')}</title>`,
    `<text x="${W / 2}" y="24" text-anchor="middle" font-size="15">${esc(opts.title ?? 'Item calibration')} (${report.model}, ${shown.length} items)</text>`,
    `<rect x="${f.x}" y="${f.y}" width="${f.w}" height="${f.h}" fill="#fff" stroke="#999"/>`,
  ];
  for (let v = xMin; v <= xMax; v += 1) {
    out.push(`<line x1="${sx(v)}" y1="${f.y}" x2="${sx(v)}" y2="${f.y + f.h}" stroke="#eee"/>`);
    out.push(`<text x="${sx(v)}" y="${f.y + f.h + 16}" text-anchor="middle" font-size="11">${v}</text>`);
  }
  for (let v = yMin; v <= yMax + 1e-9; v += 0.5) {
    out.push(`<line x1="${f.x}" y1="${sy(v)}" x2="${f.x + f.w}" y2="${sy(v)}" stroke="#eee"/>`);
    out.push(`<text x="${f.x - 6}" y="${sy(v)}" text-anchor="end" dominant-baseline="middle" font-size="11">${num(v)}</text>`);
  }
  const xLabel = shown.some((e) => e.it.model !== undefined)
    ? 'difficulty b, or location of a GRM/GPCM item (±1 SE)'
    : 'difficulty b (±1 SE)';
  out.push(`<text x="${f.x + f.w / 2}" y="${H - 22}" text-anchor="middle" font-size="12">${xLabel}</text>`);
  out.push(
    `<text x="22" y="${f.y + f.h / 2}" text-anchor="middle" font-size="12" transform="rotate(-90 22 ${f.y + f.h / 2})">discrimination a (±1 SE)</text>`,
  );
  for (const { it, i } of shown) {
    const misfit = it.fit !== null && it.fit.p < 0.01;
    const colour = misfit ? '#c62828' : '#1565c0';
    const before = opts.previous?.[i];
    if (before !== undefined) {
      out.push(`<line x1="${sx(before.b)}" y1="${sy(before.a)}" x2="${sx(it.b)}" y2="${sy(it.a)}" stroke="#bbb"/>`);
      out.push(`<circle cx="${sx(before.b)}" cy="${sy(before.a)}" r="3" fill="none" stroke="#999"/>`);
    }
    out.push(
      `<line x1="${sx(it.b - it.se.b)}" y1="${sy(it.a)}" x2="${sx(it.b + it.se.b)}" y2="${sy(it.a)}" stroke="${colour}" stroke-opacity="0.5"/>`,
    );
    out.push(
      `<line x1="${sx(it.b)}" y1="${sy(Math.max(yMin, it.a - it.se.a))}" x2="${sx(it.b)}" y2="${sy(it.a + it.se.a)}" stroke="${colour}" stroke-opacity="0.5"/>`,
    );
    // A GRM or GPCM item stands at its location (the mean threshold); its thresholds are in the label.
    const where =
      it.model === undefined
        ? `b ${it.b.toFixed(2)} ± ${it.se.b.toFixed(2)}${it.c > 0 ? `, c ${it.c.toFixed(2)}` : ''}`
        : `${it.model}, location ${it.b.toFixed(2)} ± ${it.se.b.toFixed(2)}, thresholds ${(it.thresholds ?? []).map((t) => t.toFixed(2)).join(', ')}`;
    const label = `${opts.ids?.[i] ?? `item ${i}`}: a ${it.a.toFixed(2)} ± ${it.se.a.toFixed(2)}, ${where}, n ${it.n}${it.fit === null ? '' : `, Q1 p ${it.fit.p.toFixed(3)}`}`;
    out.push(`<circle cx="${sx(it.b)}" cy="${sy(it.a)}" r="4" fill="${colour}"><title>${esc(label)}</title></circle>`);
  }
  out.push(
    `<circle cx="${f.x + 10}" cy="${f.y - 12}" r="4" fill="#1565c0"/><text x="${f.x + 18}" y="${f.y - 8}" font-size="11">fits (Q1 p ≥ 0.01)</text>`,
  );
  out.push(
    `<circle cx="${f.x + 140}" cy="${f.y - 12}" r="4" fill="#c62828"/><text x="${f.x + 148}" y="${f.y - 8}" font-size="11">misfit (Q1 p &lt; 0.01)</text>`,
  );
  if (opts.previous !== undefined) {
    out.push(
      `<circle cx="${f.x + 290}" cy="${f.y - 12}" r="3" fill="none" stroke="#999"/><text x="${f.x + 298}" y="${f.y - 8}" font-size="11">before calibration</text>`,
    );
  }
  out.push('</svg>');
  return out.join('\n');
}
