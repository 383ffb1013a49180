/**
 * Small inline SVG charts for the end screen, built with DOM calls (no markup strings) and
 * styled by class from the stylesheet, so they stay within the page's strict CSP. Each chart is a
 * labelled image; the page shows the same numbers in a table beside it.
 */
const SVG_NS = 'http://www.w3.org/2000/svg';

/** The ability estimate after one answer. */
export type ThetaPoint = { theta: number; se?: number | undefined };
/** One bar: a label and a value on the chart's scale. */
export type Bar = { label: string; value: number; detail: string };

const WIDTH = 480;
const PAD = { left: 44, right: 12, top: 12, bottom: 36 };

type Attrs = Record<string, string | number>;

function el<K extends keyof SVGElementTagNameMap>(doc: Document, name: K, attrs: Attrs = {}, text?: string): SVGElementTagNameMap[K] {
  const node = doc.createElementNS(SVG_NS, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}

function frame(doc: Document, height: number, id: string, title: string, description: string): SVGSVGElement {
  const svg = el(doc, 'svg', {
    viewBox: `0 0 ${WIDTH} ${height}`,
    role: 'img',
    'aria-labelledby': `${id}-title ${id}-desc`,
    class: 'chart',
    focusable: 'false',
  });
  svg.append(el(doc, 'title', { id: `${id}-title` }, title), el(doc, 'desc', { id: `${id}-desc` }, description));
  return svg;
}

/**
 * A line of θ after each answer on a fixed −3…3 scale, with a band of ± one SE when known and
 * a marker on every point (so the line does not rely on colour).
 */
export function thetaChart(doc: Document, points: readonly ThetaPoint[], id: string): SVGSVGElement {
  const height = 220;
  const lo = -3;
  const hi = 3;
  const plotW = WIDTH - PAD.left - PAD.right;
  const plotH = height - PAD.top - PAD.bottom;
  const x = (i: number) => PAD.left + (points.length <= 1 ? plotW / 2 : (i / (points.length - 1)) * plotW);
  const y = (t: number) => PAD.top + ((hi - Math.min(hi, Math.max(lo, t))) / (hi - lo)) * plotH;
  const last = points.at(-1);
  const svg = frame(
    doc,
    height,
    id,
    'Ability estimate after each answer',
    last === undefined
      ? 'No answers.'
      : `${points.length} answers; the estimate moved from ${points[0]?.theta.toFixed(2) ?? ''} to ${last.theta.toFixed(2)} on a scale from −3 to 3.`,
  );
  for (const tick of [-3, -2, -1, 0, 1, 2, 3]) {
    svg.append(
      el(doc, 'line', { x1: PAD.left, x2: WIDTH - PAD.right, y1: y(tick), y2: y(tick), class: tick === 0 ? 'chart-axis' : 'chart-grid' }),
    );
    svg.append(
      el(
        doc,
        'text',
        { x: PAD.left - 6, y: y(tick) + 4, class: 'chart-label', 'text-anchor': 'end' },
        tick > 0 ? `+${tick}` : tick < 0 ? `−${-tick}` : '0',
      ),
    );
  }
  if (points.every((p) => p.se !== undefined) && points.length > 1) {
    const upper = points.map((p, i) => `${x(i)},${y(p.theta + (p.se ?? 0))}`);
    const lower = points.map((p, i) => `${x(i)},${y(p.theta - (p.se ?? 0))}`).reverse();
    svg.append(el(doc, 'polygon', { points: [...upper, ...lower].join(' '), class: 'chart-band' }));
  }
  svg.append(el(doc, 'polyline', { points: points.map((p, i) => `${x(i)},${y(p.theta)}`).join(' '), class: 'chart-line' }));
  points.forEach((p, i) => svg.append(el(doc, 'circle', { cx: x(i), cy: y(p.theta), r: 3.5, class: 'chart-point' })));
  const step = Math.max(1, Math.ceil(points.length / 10));
  points.forEach((_, i) => {
    if (i % step === 0 || i === points.length - 1)
      svg.append(el(doc, 'text', { x: x(i), y: height - PAD.bottom + 16, class: 'chart-label', 'text-anchor': 'middle' }, String(i + 1)));
  });
  svg.append(el(doc, 'text', { x: PAD.left + plotW / 2, y: height - 4, class: 'chart-label', 'text-anchor': 'middle' }, 'answer'));
  return svg;
}

/** Horizontal bars from `min` to `max`, each labelled with its name and value in text. */
export function barChart(
  doc: Document,
  bars: readonly Bar[],
  scale: { min: number; max: number; name: string },
  id: string,
): SVGSVGElement {
  const row = 30;
  const labelW = 130;
  const valueW = 110;
  const height = PAD.top + bars.length * row + 8;
  const plotW = WIDTH - labelW - valueW - PAD.right;
  const x = (v: number) => labelW + ((Math.min(scale.max, Math.max(scale.min, v)) - scale.min) / (scale.max - scale.min)) * plotW;
  const svg = frame(doc, height, id, `Results by skill (${scale.name})`, bars.map((b) => `${b.label}: ${b.detail}`).join('; '));
  bars.forEach((bar, i) => {
    const top = PAD.top + i * row;
    const zero = x(Math.max(scale.min, Math.min(scale.max, 0)));
    const end = x(bar.value);
    svg.append(el(doc, 'text', { x: labelW - 8, y: top + 18, class: 'chart-label', 'text-anchor': 'end' }, bar.label));
    svg.append(el(doc, 'rect', { x: labelW, y: top + 4, width: plotW, height: row - 10, class: 'chart-track' }));
    svg.append(
      el(doc, 'rect', {
        x: Math.min(zero, end),
        y: top + 4,
        width: Math.max(1, Math.abs(end - zero)),
        height: row - 10,
        class: 'chart-bar',
      }),
    );
    svg.append(el(doc, 'text', { x: labelW + plotW + 8, y: top + 18, class: 'chart-label' }, bar.detail));
  });
  return svg;
}

/**
 * A small item characteristic curve: the probability of a correct answer, P(θ) = c + (1 − c) / (1 + e^(−a(θ − b))),
 * for θ from −3 to 3, with the difficulty `b` marked (the description says the numbers in words).
 */
export function iccChart(doc: Document, irt: { a: number; b: number; c: number }, id: string): SVGSVGElement {
  const w = 160;
  const h = 64;
  const p = (t: number) => irt.c + (1 - irt.c) / (1 + Math.exp(-irt.a * (t - irt.b)));
  const x = (t: number) => 4 + ((t + 3) / 6) * (w - 8);
  const y = (v: number) => h - 4 - v * (h - 8);
  const svg = el(doc, 'svg', { viewBox: `0 0 ${w} ${h}`, role: 'img', 'aria-labelledby': `${id}-title`, class: 'chart chart-icc', focusable: 'false' });
  svg.append(
    el(
      doc,
      'title',
      { id: `${id}-title` },
      `Characteristic curve: discrimination ${irt.a.toFixed(2)}, difficulty ${irt.b.toFixed(2)}, guessing ${irt.c.toFixed(2)}`,
    ),
  );
  svg.append(el(doc, 'line', { x1: 4, x2: w - 4, y1: y(0), y2: y(0), class: 'chart-axis' }));
  svg.append(el(doc, 'line', { x1: 4, x2: w - 4, y1: y(1), y2: y(1), class: 'chart-grid' }));
  const points: string[] = [];
  for (let i = 0; i <= 60; i++) {
    const t = -3 + i / 10;
    points.push(`${x(t).toFixed(1)},${y(p(t)).toFixed(1)}`);
  }
  svg.append(el(doc, 'polyline', { points: points.join(' '), class: 'chart-line' }));
  const b = Math.max(-3, Math.min(3, irt.b));
  svg.append(el(doc, 'circle', { cx: x(b), cy: y(p(b)), r: 3, class: 'chart-point' }));
  return svg;
}
