/**
 * A hand-written SVG line chart: answer-path latency percentiles (log scale) against offered load,
 * for the gateway and the echo baseline, with the p99 target marked.
 */
import type { Percentiles } from './hist.ts';

export type PlotPoint = { offered: number; achieved: number; gateway: Percentiles; echo: Percentiles | undefined };

const W = 860;
const H = 520;
const M = { left: 70, right: 190, top: 50, bottom: 80 };
const SERIES: { key: 'p50' | 'p90' | 'p99' | 'p999'; label: string; color: string }[] = [
  { key: 'p50', label: 'p50', color: '#1b9e77' },
  { key: 'p90', label: 'p90', color: '#7570b3' },
  { key: 'p99', label: 'p99', color: '#d95f02' },
  { key: 'p999', label: 'p99.9', color: '#e7298a' },
];

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function fmtMs(v: number): string {
  if (v >= 1000) return `${v / 1000} s`;
  return `${v} ms`;
}

const plotW = W - M.left - M.right;
const plotH = H - M.top - M.bottom;

/** A log-scale y axis over whole decades that hold `values` (ms). */
function logAxis(values: readonly number[]): { lo: number; hi: number; y: (v: number) => number } {
  const lo = Math.floor(Math.log10(Math.max(0.01, Math.min(...values, 1))));
  const hi = Math.ceil(Math.log10(Math.max(...values, 10)));
  return { lo, hi, y: (v) => M.top + plotH - ((Math.log10(Math.max(v, 10 ** lo)) - lo) / (hi - lo || 1)) * plotH };
}

/** The opening of a chart: the svg element, a white background and the title. */
function header(title: string): string[] {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2 - M.right / 2}" y="24" text-anchor="middle" font-size="15" font-weight="bold">${esc(title)}</text>`,
  ];
}

/** Horizontal grid lines at the decades and at 2 and 5 within them, labelled. */
function yGrid(out: string[], axis: ReturnType<typeof logAxis>): void {
  for (let d = axis.lo; d <= axis.hi; d++) {
    for (const m of [1, 2, 5]) {
      const v = m * 10 ** d;
      if (v < 10 ** axis.lo || v > 10 ** axis.hi) continue;
      const yy = axis.y(v).toFixed(1);
      out.push(`<line x1="${M.left}" x2="${M.left + plotW}" y1="${yy}" y2="${yy}" stroke="${m === 1 ? '#ccc' : '#eee'}"/>`);
      out.push(
        `<text x="${M.left - 6}" y="${yy}" text-anchor="end" dominant-baseline="middle" fill="#555">${esc(fmtMs(Number(v.toPrecision(3))))}</text>`,
      );
    }
  }
}

/** A dashed red line at the target latency, labelled. */
function targetLine(out: string[], axis: ReturnType<typeof logAxis>, ms: number, label: string): string {
  const yy = axis.y(ms).toFixed(1);
  out.push(`<line x1="${M.left}" x2="${M.left + plotW}" y1="${yy}" y2="${yy}" stroke="#c00" stroke-dasharray="6 4"/>`);
  out.push(`<text x="${M.left + 6}" y="${Number(yy) - 5}" fill="#c00">${esc(label)}</text>`);
  return yy;
}

export function latencyPlot(points: readonly PlotPoint[], opts: { title: string; targetMs?: number; targetAt?: number }): string {
  const pts = [...points].sort((a, b) => a.offered - b.offered);
  const values = pts.flatMap((p) => [...SERIES.map((s) => p.gateway[s.key]), p.echo?.p50 ?? 0, p.echo?.p99 ?? 0]).filter((v) => v > 0);
  if (opts.targetMs !== undefined) values.push(opts.targetMs);
  const axis = logAxis(values);
  const { lo, y } = axis;
  const maxX = Math.max(...pts.map((p) => p.offered), 1) * 1.05;
  const x = (v: number): number => M.left + (v / maxX) * plotW;
  const out = header(opts.title);
  yGrid(out, axis);
  // X ticks at each offered rate, with the achieved rate below.
  for (const p of pts) {
    const xx = x(p.offered).toFixed(1);
    out.push(`<line x1="${xx}" x2="${xx}" y1="${M.top}" y2="${M.top + plotH}" stroke="#eee"/>`);
    out.push(`<text x="${xx}" y="${M.top + plotH + 18}" text-anchor="middle">${p.offered}/s</text>`);
    out.push(
      `<text x="${xx}" y="${M.top + plotH + 34}" text-anchor="middle" fill="#777" font-size="11">got ${Math.round(p.achieved)}/s</text>`,
    );
  }
  out.push(`<rect x="${M.left}" y="${M.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#333"/>`);
  out.push(
    `<text x="${M.left + plotW / 2}" y="${H - 18}" text-anchor="middle">offered load (answers per second, open loop)</text>`,
    `<text transform="translate(18 ${M.top + plotH / 2}) rotate(-90)" text-anchor="middle">latency from scheduled send (log scale)</text>`,
  );
  if (opts.targetMs !== undefined) {
    const label = `target p99 ≤ ${opts.targetMs} ms${opts.targetAt === undefined ? '' : ` at ${opts.targetAt}/s`}`;
    const yy = targetLine(out, axis, opts.targetMs, label);
    if (opts.targetAt !== undefined) {
      const xx = x(opts.targetAt).toFixed(1);
      out.push(`<circle cx="${xx}" cy="${yy}" r="5" fill="none" stroke="#c00" stroke-width="2"/>`);
    }
  }
  const line = (vals: number[], color: string, dash: string | undefined, label: string, legendRow: number): void => {
    const coords = pts.map((p, i) => `${x(p.offered).toFixed(1)},${y(vals[i] ?? 10 ** lo).toFixed(1)}`);
    const dashAttr = dash === undefined ? '' : ` stroke-dasharray="${dash}"`;
    out.push(`<polyline points="${coords.join(' ')}" fill="none" stroke="${color}" stroke-width="2"${dashAttr}/>`);
    for (const c of coords) {
      const [cx, cy] = c.split(',');
      out.push(`<circle cx="${cx ?? 0}" cy="${cy ?? 0}" r="3" fill="${color}"/>`);
    }
    const ly = M.top + 10 + legendRow * 20;
    const lx = M.left + plotW + 16;
    out.push(`<line x1="${lx}" x2="${lx + 26}" y1="${ly}" y2="${ly}" stroke="${color}" stroke-width="2"${dashAttr}/>`);
    out.push(`<text x="${lx + 32}" y="${ly}" dominant-baseline="middle">${esc(label)}</text>`);
  };
  SERIES.forEach((s, i) =>
    line(
      pts.map((p) => p.gateway[s.key]),
      s.color,
      undefined,
      `gateway ${s.label}`,
      i,
    ),
  );
  if (pts.every((p) => p.echo !== undefined)) {
    line(
      pts.map((p) => p.echo?.p50 ?? 0),
      '#999',
      '4 3',
      'echo server p50',
      SERIES.length,
    );
    line(
      pts.map((p) => p.echo?.p99 ?? 0),
      '#555',
      '4 3',
      'echo server p99',
      SERIES.length + 1,
    );
  }
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

export type TimelinePoint = { second: number; count: number; p50: number; p99: number; max: number };

/**
 * Answer latency second by second through one step (log scale): p50, p99 and the slowest answer
 * of each second, by scheduled time, with the spread, the warm-up and the measured window shaded.
 */
export function timelinePlot(
  points: readonly TimelinePoint[],
  opts: { title: string; spreadS: number; windowStartS: number; windowEndS: number; target?: { ms: number; label: string } },
): string {
  const values = points.flatMap((p) => [p.p50, p.p99, p.max]).filter((v) => v > 0);
  if (opts.target !== undefined) values.push(opts.target.ms);
  const axis = logAxis(values);
  const maxX = Math.max(opts.windowEndS, ...points.map((p) => p.second + 1));
  const x = (s: number): number => M.left + (s / maxX) * plotW;
  const { y } = axis;
  const out = header(opts.title);
  const band = (from: number, to: number, fill: string, label: string): void => {
    if (to <= from) return;
    out.push(`<rect x="${x(from).toFixed(1)}" y="${M.top}" width="${(x(to) - x(from)).toFixed(1)}" height="${plotH}" fill="${fill}"/>`);
    out.push(
      `<text x="${((x(from) + x(to)) / 2).toFixed(1)}" y="${M.top - 6}" text-anchor="middle" fill="#555" font-size="11">${esc(label)}</text>`,
    );
  };
  band(0, opts.spreadS, '#f3f3f3', 'sessions start');
  band(opts.spreadS, opts.windowStartS, '#f8f8f8', 'warm-up');
  band(opts.windowStartS, opts.windowEndS, '#eef5ff', 'measured');
  yGrid(out, axis);
  const step = maxX > 60 ? 10 : 5;
  for (let s = 0; s <= maxX; s += step) {
    out.push(`<text x="${x(s).toFixed(1)}" y="${M.top + plotH + 18}" text-anchor="middle">${s} s</text>`);
  }
  out.push(`<rect x="${M.left}" y="${M.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#333"/>`);
  out.push(
    `<text x="${M.left + plotW / 2}" y="${H - 30}" text-anchor="middle">scheduled send time (seconds from the start of the step)</text>`,
    `<text transform="translate(18 ${M.top + plotH / 2}) rotate(-90)" text-anchor="middle">latency from scheduled send (log scale)</text>`,
  );
  if (opts.target !== undefined) targetLine(out, axis, opts.target.ms, opts.target.label);
  const series: { key: 'p50' | 'p99' | 'max'; label: string; color: string }[] = [
    { key: 'p50', label: 'p50 of the second', color: '#1b9e77' },
    { key: 'p99', label: 'p99 of the second', color: '#d95f02' },
    { key: 'max', label: 'slowest of the second', color: '#999' },
  ];
  const live = points.filter((p) => p.count > 0);
  series.forEach((s, row) => {
    const coords = live.map((p) => `${x(p.second + 0.5).toFixed(1)},${y(p[s.key]).toFixed(1)}`);
    out.push(`<polyline points="${coords.join(' ')}" fill="none" stroke="${s.color}" stroke-width="${s.key === 'max' ? 1 : 2}"/>`);
    const ly = M.top + 10 + row * 20;
    const lx = M.left + plotW + 16;
    out.push(`<line x1="${lx}" x2="${lx + 26}" y1="${ly}" y2="${ly}" stroke="${s.color}" stroke-width="2"/>`);
    out.push(`<text x="${lx + 32}" y="${ly}" dominant-baseline="middle">${esc(s.label)}</text>`);
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
