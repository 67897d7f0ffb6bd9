// expf as glibc (>= 2.27) and recent newlib compute it, reproduced exactly in JS doubles so the
// TS reference and the C runtime (tf_expf in runtime-c-templates/portable/tf_float.h) agree bit
// for bit with the TFLite Micro goldens, which ran on x86 glibc. The algorithm: write
// x * 32 / ln 2 = k + r with k an integer (round to nearest) and |r| <= 1/2, so
// exp(x) = 2^(k/32) * 2^(r/32); 2^(k/32) is a table entry 2^(j/32) (j = k mod 32) scaled by a
// power of two, and 2^(r/32) is a cubic in r. Every step is one IEEE double operation, so JS
// (round to nearest, no fused multiply-add) gets the same double as C built with
// -ffp-contract=off; the last step rounds that double to float32 once.

/** x * 32 / ln 2 multiplier: 0x1.71547652b82fep+0 * 32. */
const INV_LN2_N = 0x171547652b82fe / 2 ** 52 * 32;
/** 0x1.8p52: adding it rounds a double of magnitude < 2^51 to an integer, ties to even. */
const SHIFT = 1.5 * 2 ** 52;
/** The cubic's coefficients for 2^(r/32) (r in units of 1/32), highest power first. */
const C0 = 0x1c6af84b912394 / 2 ** 52 / 2 ** 5 / 32 / 32 / 32;
const C1 = 0x1ebfce50fac4f3 / 2 ** 52 / 2 ** 3 / 32 / 32;
const C2 = 0x162e42ff0c52d6 / 2 ** 52 / 2 ** 1 / 32;

/** The integer 32nd root: the largest r with r^32 <= n. */
function iroot32(n: bigint): bigint {
  let lo = 0n;
  let hi = 1n << (BigInt(n.toString(2).length) / 32n + 1n);
  while (lo < hi) {
    const mid = (lo + hi + 1n) / 2n;
    if (mid ** 32n <= n) lo = mid;
    else hi = mid - 1n;
  }
  return lo;
}

/** 2^(j/32) rounded to the nearest double (exact integer arithmetic; no table is copied). */
function exp2Table(): Float64Array {
  const t = new Float64Array(32);
  t[0] = 1;
  for (let j = 1; j < 32; j++) {
    // floor(2^(j/32) * 2^60) = floor((2^(j + 1920))^(1/32)), a 61-bit integer: 8 bits below the double's 53.
    const scaled = iroot32(1n << BigInt(j + 60 * 32));
    const drop = BigInt(scaled.toString(2).length - 53);
    let m = scaled >> drop;
    // 2^(j/32) is irrational here, so the true value lies strictly above `scaled`: round up when
    // the dropped bits are at least half (no ties are possible).
    if (scaled - (m << drop) >= 1n << (drop - 1n)) m += 1n;
    t[j] = Number(m) * 2 ** (Number(drop) - 60);
  }
  return t;
}

const TABLE = exp2Table();

/**
 * The C runtime's table (tf_exp2f_table; test/float_kernels.test.ts compares them): the bits of
 * 2^(j/32) minus j << 47, so that adding k << 47 gives 2^(j/32) * 2^floor(k/32) for j = k mod 32.
 */
export function exp2TableBits(): bigint[] {
  const dv = new DataView(new ArrayBuffer(8));
  return Array.from(TABLE, (v, j) => {
    dv.setFloat64(0, v, true);
    return dv.getBigUint64(0, true) - (BigInt(j) << 47n);
  });
}

const F32 = new Float32Array(1);
const U32 = new Uint32Array(F32.buffer);

/** expf(x) for a float32 x, bit-exact with glibc's. */
export function expf(x: number): number {
  F32[0] = x;
  const ux = U32[0] as number;
  const abstop = (ux >>> 20) & 0x7ff;
  if (abstop >= 0x42b) {
    // |x| >= 88, or x is NaN or infinite.
    if (ux === 0xff800000) return 0;
    if (abstop >= 0x7f8) return Math.fround(x + x);
    if (x > 88.72283172607422) return Infinity; // 0x1.62e42ep6: exp overflows float32
    if (x < -103.97207641601562) return 0; // -0x1.9fe368p6: exp underflows to 0
  }
  const z = INV_LN2_N * x;
  const kd = z + SHIFT - SHIFT;
  const k = kd;
  const r = z - kd;
  const j = ((k % 32) + 32) % 32;
  const s = (TABLE[j] as number) * 2 ** ((k - j) / 32);
  const p = C0 * r + C1;
  const r2 = r * r;
  let y = C2 * r + 1;
  y = p * r2 + y;
  y = y * s;
  return Math.fround(y);
}
