import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { renderInformationSvg, renderItemCurvesSvg } from './curves-svg.ts';
import { prob3pl } from './irt.ts';
import { categoryProbabilities, itemInformation } from './models.ts';
import type { AnyItemParams } from './models.ts';

/** Checks `svg` is well-formed XML and the root is an <svg> with paths. */
function wellFormed(svg: string): void {
  // The parser's own well-formedness check (deprecated for a separate package, as in libs/qti).
  // eslint-disable-next-line @typescript-eslint/no-deprecated
  assert.equal(XMLValidator.validate(svg), true);
  const tree = new XMLParser({ ignoreAttributes: false }).parse(svg) as { svg?: { path?: unknown } };
  assert.ok(tree.svg?.path !== undefined);
}

/** The points of the path `name`, mapped back to (θ, value) through its data attributes. */
function curvePoints(svg: string, name: string): [number, number][] {
  const m = new RegExp(
    `<path data-curve="${name.replace(/[()]/g, '\\$&')}" data-x="([^"]+)" data-y="([^"]+)" data-frame="([^"]+)" d="([^"]+)"`,
  ).exec(svg);
  assert.ok(m, `curve ${name} not found`);
  const [x0, x1] = (m[1] as string).split(' ').map(Number) as [number, number];
  const [, yMax] = (m[2] as string).split(' ').map(Number) as [number, number];
  const [fx, fy, fw, fh] = (m[3] as string).split(' ').map(Number) as [number, number, number, number];
  return (m[4] as string).split(' ').map((seg) => {
    const [px, py] = seg.slice(1).split(',').map(Number) as [number, number];
    return [x0 + ((px - fx) / fw) * (x1 - x0), ((fy + fh - py) / fh) * yMax];
  });
}

const bank: AnyItemParams[] = [
  { a: 1.2, b: -0.5, c: 0.2 },
  { a: 0.8, b: 1, c: 0.25 },
  { a: 1.6, b: 0.2, c: 0 },
  { model: 'GRM', a: 1.2, b: [-1, 0, 1.5] },
];

describe('information and SE curves', () => {
  it('is well-formed SVG whose curves are Σ I_i(θ) and 1/√I(θ)', () => {
    const svg = renderInformationSvg(bank, { thetaMin: -4, thetaMax: 4, points: 9 });
    wellFormed(svg);
    const info = curvePoints(svg, 'information');
    const se = curvePoints(svg, 'se');
    assert.equal(info.length, 9);
    const yMax = Math.max(...info.map(([, v]) => v));
    info.forEach(([theta, v], j) => {
      assert.ok(Math.abs(theta - (j - 4)) < 1e-3, `θ ${theta}`);
      const want = bank.reduce((s, it) => s + itemInformation(it, j - 4), 0);
      assert.ok(Math.abs(v - want) < 1e-3 * Math.max(1, yMax), `I(${j - 4}) = ${v}, want ${want}`);
      const wantSe = 1 / Math.sqrt(want);
      // The SE panel is capped at 2: beyond it the curve runs along the top.
      if (wantSe < 1.9) assert.ok(Math.abs((se[j] as [number, number])[1] - wantSe) < 2e-3, `SE(${j - 4})`);
    });
  });

  it('rejects an empty bank, a bad item and a bad θ range', () => {
    assert.throws(() => renderInformationSvg([]), RangeError);
    assert.throws(() => renderInformationSvg([{ a: 1, b: 0, c: 1 }]), RangeError);
    assert.throws(() => renderInformationSvg(bank, { thetaMin: 2, thetaMax: 1 }), RangeError);
  });
});

describe('item characteristic curves', () => {
  it('a 3PL item: P(correct) and its information', () => {
    const item = { a: 1.4, b: 0.3, c: 0.2 };
    const svg = renderItemCurvesSvg(item, { thetaMin: -3, thetaMax: 3, points: 7, label: 'q1' });
    wellFormed(svg);
    assert.match(svg, /Item q1 \(3PL\)/);
    const p = curvePoints(svg, 'P(correct)');
    p.forEach(([theta, v]) => assert.ok(Math.abs(v - prob3pl(theta, 1.4, 0.3, 0.2)) < 1e-3, `P(${theta})`));
    assert.equal(svg.match(/data-curve="P\(/g)?.length, 1);
  });

  it('GRM and GPCM items: one curve per category, matching the published values', () => {
    const grm: AnyItemParams = { model: 'GRM', a: 1.2, b: [-1, 0, 1.5] };
    const svg = renderItemCurvesSvg(grm, { thetaMin: -3.5, thetaMax: 4.5, points: 9 });
    wellFormed(svg);
    const want = [0.14185, 0.21249, 0.41418, 0.23148]; // θ = 0.5, the 5th point
    want.forEach((w, k) => {
      const pt = curvePoints(svg, `P(X=${k})`)[4] as [number, number];
      assert.ok(Math.abs(pt[0] - 0.5) < 1e-3);
      assert.ok(Math.abs(pt[1] - w) < 1e-3, `P(X=${k}) = ${pt[1]}`);
    });
    const gpcm: AnyItemParams = { model: 'GPCM', a: 0.9, b: [-0.5, 0.4, 1.1] };
    const g = renderItemCurvesSvg(gpcm, { points: 5 });
    wellFormed(g);
    const curves = [0, 1, 2, 3].map((k) => curvePoints(g, `P(X=${k})`));
    for (let j = 0; j < 5; j++) {
      const theta = (curves[0]?.[j] as [number, number])[0];
      const p = categoryProbabilities(gpcm, theta);
      curves.forEach((c, k) => assert.ok(Math.abs((c[j] as [number, number])[1] - (p[k] as number)) < 1e-3));
    }
    const info = curvePoints(g, 'information');
    info.forEach(([theta, v]) => assert.ok(Math.abs(v - itemInformation(gpcm, theta)) < 2e-3));
  });
});
