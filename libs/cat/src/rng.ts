/**
 * Deterministic seeded random numbers (sfc32 seeded from a 128-bit string hash).
 */

/** A deterministic pseudo-random source. */
export interface Rng {
  /** Uniform float in [0, 1). */
  next(): number;
  /** Uniform integer in [0, n). */
  nextInt(n: number): number;
  /** Standard normal deviate (Box–Muller). */
  normal(): number;
}

/** Hash a string into four 32-bit words (multiply–rotate mixing with a murmur-style finaliser). */
export function hashSeed(text: string): [number, number, number, number] {
  let h1 = 0x6a09e667 ^ text.length;
  let h2 = 0xbb67ae85;
  let h3 = 0x3c6ef372;
  let h4 = 0xa54ff53a;
  for (let i = 0; i < text.length; i++) {
    const k = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ k, 0x9e3779b1);
    h2 = Math.imul(h2 ^ k, 0x85ebca77);
    h3 = Math.imul(h3 ^ k, 0xc2b2ae3d);
    h4 = Math.imul(h4 ^ k, 0x27d4eb2f);
    h1 = (h1 << 13) | (h1 >>> 19);
    h2 = (h2 << 17) | (h2 >>> 15);
    h3 = (h3 << 11) | (h3 >>> 21);
    h4 = (h4 << 7) | (h4 >>> 25);
  }
  const fin = (h: number, salt: number): number => {
    h ^= salt;
    h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
    h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
    return (h ^ (h >>> 16)) >>> 0;
  };
  const a = fin(h1 ^ h3, h2);
  const b = fin(h2 ^ h4, h3);
  const c = fin(h3 ^ h1, h4);
  const d = fin(h4 ^ h2, h1);
  return [a, b, c, d];
}

/**
 * Create a deterministic RNG from a string or number seed. The same seed always
 * yields the same sequence. For replayable selection derive one RNG per step,
 * e.g. `createRng(seed + ':' + step)`.
 */
export function createRng(seed: string | number): Rng {
  let [a, b, c, d] = hashSeed(typeof seed === 'number' ? `#${seed}` : seed);
  const nextU32 = (): number => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return t >>> 0;
  };
  for (let i = 0; i < 12; i++) nextU32();
  let spare: number | undefined;
  const next = (): number => nextU32() / 4294967296;
  return {
    next,
    nextInt(n: number): number {
      if (!(n >= 1)) throw new RangeError(`nextInt: n must be >= 1, got ${n}`);
      return Math.floor(next() * Math.floor(n));
    },
    normal(): number {
      if (spare !== undefined) {
        const s = spare;
        spare = undefined;
        return s;
      }
      let u = next();
      while (u <= 0) u = next();
      const v = next();
      const r = Math.sqrt(-2 * Math.log(u));
      spare = r * Math.sin(2 * Math.PI * v);
      return r * Math.cos(2 * Math.PI * v);
    },
  };
}

/** One uniform draw in [0, 1) determined entirely by `seed` (cheap keyed hash). */
export function uniformFromSeed(seed: string): number {
  return createRng(seed).next();
}
