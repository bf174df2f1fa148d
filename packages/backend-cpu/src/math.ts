// Scalar math the CPU kernels share. JavaScript has no erf, so it is computed here to double
// precision: a Taylor series near zero and a continued fraction for erfc in the tails.
const TWO_OVER_SQRT_PI = 1.1283791670955126;
const ONE_OVER_SQRT_PI = 0.5641895835477563;

export function erf(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const a = Math.abs(x);
  if (a < 2.5) {
    // erf(x) = 2/sqrt(pi) * sum (-1)^n x^(2n+1) / (n! (2n+1)); terms shrink fast for |x| < 2.5.
    const x2 = x * x;
    let term = x;
    let total = x;
    for (let n = 1; n < 100; n++) {
      term *= -x2 / n;
      const add = term / (2 * n + 1);
      total += add;
      if (Math.abs(add) < 1e-17 * Math.abs(total)) break;
    }
    return TWO_OVER_SQRT_PI * total;
  }
  if (a > 6) return Math.sign(x);
  return Math.sign(x) * (1 - erfcTail(a));
}

/** erfc(a) for a >= 2.5 by the Laplace continued fraction, evaluated with modified Lentz. */
function erfcTail(a: number): number {
  const tiny = 1e-300;
  let f = a;
  let c = a;
  let d = 0;
  for (let n = 1; n < 200; n++) {
    const an = n / 2;
    d = a + an * d;
    d = d === 0 ? tiny : d;
    c = a + an / c;
    c = c === 0 ? tiny : c;
    d = 1 / d;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return (Math.exp(-a * a) * ONE_OVER_SQRT_PI) / f;
}

const SQRT1_2 = Math.SQRT1_2;
const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

export const gelu = (x: number): number => 0.5 * x * (1 + erf(x * SQRT1_2));
export const geluTanh = (x: number): number => 0.5 * x * (1 + Math.tanh(SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)));
export const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));
