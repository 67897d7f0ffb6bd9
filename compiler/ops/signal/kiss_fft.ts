// The int16 fixed-point real FFT TFLite Micro's SignalRfft runs: KISS FFT v1.3.0 built with
// FIXED_POINT=16 (kiss_fftr over a half-length complex FFT). Every butterfly divides its inputs by
// the radix first (C_FIXDIV), products round to 15 fractional bits (sround) and sums wrap to
// int16, as the C macros do. Twiddles are computed here, at compile time, and handed to the C
// kernel as tables so both sides use the same values.

/** KISS FFT's factorisation: radix 4 while possible, then 2, then odd primes; [p0, m0, p1, m1, ...]. */
export function kissFactors(nfft: number): number[] {
  const out: number[] = [];
  let n = nfft;
  let p = 4;
  const floorSqrt = Math.floor(Math.sqrt(n));
  do {
    while (n % p !== 0) {
      p = p === 4 ? 2 : p === 2 ? 3 : p + 2;
      if (p > floorSqrt) p = n;
    }
    n /= p;
    out.push(p, n);
  } while (n > 1);
  return out;
}

const SAMP_MAX = 32767;

/** floor(0.5 + 32767 cos(phase)), floor(0.5 + 32767 sin(phase)) as int16 (kf_cexp). */
function cexp(phase: number): [number, number] {
  return [Math.floor(0.5 + SAMP_MAX * Math.cos(phase)), Math.floor(0.5 + SAMP_MAX * Math.sin(phase))];
}

/** The complex FFT's twiddles for a forward transform of `ncfft` points, interleaved re, im. */
export function kissTwiddles(ncfft: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < ncfft; i++) out.push(...cexp((-2 * Math.PI * i) / ncfft));
  return out;
}

/** kiss_fftr's super twiddles for a real FFT whose complex half has `ncfft` points, interleaved. */
export function kissSuperTwiddles(ncfft: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < ncfft / 2; i++) out.push(...cexp(-Math.PI * ((i + 1) / ncfft + 0.5)));
  return out;
}

const s16 = (v: number): number => (v << 16) >> 16;
/** sround: round a 15-fractional-bit product back to int16 (truncating to 16 bits as the cast does). */
const sround = (x: number): number => s16((x + 16384) >> 15);
/** DIVSCALAR(x, k) = sround(x * (32767 / k)). */
const divScalar = (x: number, k: number): number => sround(x * Math.trunc(SAMP_MAX / k));

export interface KissPlan {
  ncfft: number;
  factors: readonly number[];
  twiddles: readonly number[];
  superTwiddles: readonly number[];
}

/** Complex int16 buffer, interleaved re, im. */
type Cpx = Int16Array;

function bfly2(out: Cpx, o: number, fstride: number, tw: readonly number[], m: number): void {
  for (let k = 0; k < m; k++) {
    const a = 2 * (o + k);
    const b = 2 * (o + k + m);
    const ar = divScalar(out[a] as number, 2);
    const ai = divScalar(out[a + 1] as number, 2);
    const br = divScalar(out[b] as number, 2);
    const bi = divScalar(out[b + 1] as number, 2);
    const wr = tw[2 * k * fstride] as number;
    const wi = tw[2 * k * fstride + 1] as number;
    const tr = sround(br * wr - bi * wi);
    const ti = sround(br * wi + bi * wr);
    out[b] = s16(ar - tr);
    out[b + 1] = s16(ai - ti);
    out[a] = s16(ar + tr);
    out[a + 1] = s16(ai + ti);
  }
}

function bfly4(out: Cpx, o: number, fstride: number, tw: readonly number[], m: number): void {
  for (let k = 0; k < m; k++) {
    const i0 = 2 * (o + k);
    const i1 = 2 * (o + k + m);
    const i2 = 2 * (o + k + 2 * m);
    const i3 = 2 * (o + k + 3 * m);
    for (const i of [i0, i1, i2, i3]) {
      out[i] = divScalar(out[i] as number, 4);
      out[i + 1] = divScalar(out[i + 1] as number, 4);
    }
    const mul = (i: number, t: number): [number, number] => {
      const ar = out[i] as number;
      const ai = out[i + 1] as number;
      const wr = tw[2 * t] as number;
      const wi = tw[2 * t + 1] as number;
      return [sround(ar * wr - ai * wi), sround(ar * wi + ai * wr)];
    };
    const [s0r, s0i] = mul(i1, k * fstride);
    const [s1r, s1i] = mul(i2, 2 * k * fstride);
    const [s2r, s2i] = mul(i3, 3 * k * fstride);
    const f0r = out[i0] as number;
    const f0i = out[i0 + 1] as number;
    const s5r = s16(f0r - s1r);
    const s5i = s16(f0i - s1i);
    const a0r = s16(f0r + s1r);
    const a0i = s16(f0i + s1i);
    const s3r = s16(s0r + s2r);
    const s3i = s16(s0i + s2i);
    const s4r = s16(s0r - s2r);
    const s4i = s16(s0i - s2i);
    out[i2] = s16(a0r - s3r);
    out[i2 + 1] = s16(a0i - s3i);
    out[i0] = s16(a0r + s3r);
    out[i0 + 1] = s16(a0i + s3i);
    // Forward transform.
    out[i1] = s16(s5r + s4i);
    out[i1 + 1] = s16(s5i - s4r);
    out[i3] = s16(s5r - s4i);
    out[i3 + 1] = s16(s5i + s4r);
  }
}

/** kf_work: recursive decimation in time; `f` indexes complex input elements. */
function work(plan: KissPlan, out: Cpx, o: number, input: Cpx, f: number, fstride: number, stage: number): void {
  const p = plan.factors[stage] as number;
  const m = plan.factors[stage + 1] as number;
  if (m === 1) {
    for (let j = 0; j < p; j++) {
      out[2 * (o + j)] = input[2 * (f + j * fstride)] as number;
      out[2 * (o + j) + 1] = input[2 * (f + j * fstride) + 1] as number;
    }
  } else {
    for (let j = 0; j < p; j++) work(plan, out, o + j * m, input, f + j * fstride, fstride * p, stage + 2);
  }
  if (p === 2) bfly2(out, o, fstride, plan.twiddles, m);
  else if (p === 4) bfly4(out, o, fstride, plan.twiddles, m);
  else throw new Error(`internal: radix ${p} butterflies are not implemented`);
}

/** kiss_fftr: `time` holds 2 * ncfft int16 samples; `freq` receives ncfft + 1 complex values. */
export function kissFftr(plan: KissPlan, time: Int16Array, freq: Int16Array): void {
  const n = plan.ncfft;
  const tmp = new Int16Array(2 * n);
  work(plan, tmp, 0, time, 0, 1, 0);
  const dcR = divScalar(tmp[0] as number, 2);
  const dcI = divScalar(tmp[1] as number, 2);
  freq[0] = s16(dcR + dcI);
  freq[2 * n] = s16(dcR - dcI);
  freq[1] = 0;
  freq[2 * n + 1] = 0;
  for (let k = 1; k <= n / 2; k++) {
    const pkR = divScalar(tmp[2 * k] as number, 2);
    const pkI = divScalar(tmp[2 * k + 1] as number, 2);
    const pnkR = divScalar(tmp[2 * (n - k)] as number, 2);
    const pnkI = divScalar(s16(-(tmp[2 * (n - k) + 1] as number)), 2);
    const f1r = s16(pkR + pnkR);
    const f1i = s16(pkI + pnkI);
    const f2r = s16(pkR - pnkR);
    const f2i = s16(pkI - pnkI);
    const wr = plan.superTwiddles[2 * (k - 1)] as number;
    const wi = plan.superTwiddles[2 * (k - 1) + 1] as number;
    const twR = sround(f2r * wr - f2i * wi);
    const twI = sround(f2r * wi + f2i * wr);
    freq[2 * k] = (f1r + twR) >> 1;
    freq[2 * k + 1] = (f1i + twI) >> 1;
    freq[2 * (n - k)] = (f1r - twR) >> 1;
    freq[2 * (n - k) + 1] = (twI - f1i) >> 1;
  }
}
