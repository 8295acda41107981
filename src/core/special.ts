/** Special functions for the reference interpreter, accurate to float64 (far beyond float32's needs). */

const TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);

/**
 * erf(x) by the series erf(x) = 2/√π · e^(−x²) · Σ 2^n x^(2n+1) / (1·3···(2n+1)); every term is positive,
 * so nothing cancels. Past |x| = 6, erf is ±1 to float64 precision.
 */
export function erf(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const a = Math.abs(x);
  if (a >= 6) return Math.sign(x);
  let term = a;
  let sum = a;
  for (let n = 1; n < 500 && term > sum * 1e-17; n++) {
    term *= (2 * a * a) / (2 * n + 1);
    sum += term;
  }
  const result = TWO_OVER_SQRT_PI * Math.exp(-a * a) * sum;
  return x < 0 ? -result : result;
}

/** The inverse of erf on (−1, 1): Winitzki's approximation refined by Newton steps on `erf`. */
export function erfInv(x: number): number {
  if (Number.isNaN(x) || x < -1 || x > 1) return NaN;
  if (x === 1) return Infinity;
  if (x === -1) return -Infinity;
  if (x === 0) return x;
  const a = 0.147;
  const ln = Math.log((1 - x) * (1 + x));
  const t = 2 / (Math.PI * a) + ln / 2;
  let y = Math.sign(x) * Math.sqrt(Math.sqrt(t * t - ln / a) - t);
  for (let i = 0; i < 6; i++) {
    const step = (erf(y) - x) / (TWO_OVER_SQRT_PI * Math.exp(-y * y));
    y -= step;
    if (Math.abs(step) <= Math.abs(y) * 1e-16) break;
  }
  return y;
}
