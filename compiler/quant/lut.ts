// Lookup tables TFLite Micro builds or ships, computed at compile time so the device gets them as
// const arrays: the sigmoid table its int16 LOGISTIC/TANH interpolate in, and the int16 softmax's
// exp and 1/(1+x) tables (gen_lut, float32 arithmetic as TFLite does it).

import { roundHalfAwayFromZero } from './multiplier.ts';

/**
 * TFLite's sigmoid_table_uint16: sigmoid(i / 24) in Q0.16 for i = 0..255, which its int16 LOGISTIC
 * and TANH interpolate in. The entries are data, not a formula: they differ from the nearest
 * rounding of sigmoid(i / 24) by one in places, and bit-exactness needs TFLite's values.
 */
const SIGMOID_TABLE_U16: readonly number[] = [
  32768, 33451, 34133, 34813, 35493, 36169, 36843, 37513, 38180, 38841, 39498, 40149, 40794, 41432, 42064, 42688,
  43304, 43912, 44511, 45102, 45683, 46255, 46817, 47369, 47911, 48443, 48964, 49475, 49975, 50464, 50942, 51409,
  51865, 52311, 52745, 53169, 53581, 53983, 54374, 54755, 55125, 55485, 55834, 56174, 56503, 56823, 57133, 57433,
  57724, 58007, 58280, 58544, 58800, 59048, 59288, 59519, 59743, 59959, 60168, 60370, 60565, 60753, 60935, 61110,
  61279, 61441, 61599, 61750, 61896, 62036, 62172, 62302, 62428, 62549, 62666, 62778, 62886, 62990, 63090, 63186,
  63279, 63368, 63454, 63536, 63615, 63691, 63765, 63835, 63903, 63968, 64030, 64090, 64148, 64204, 64257, 64308,
  64357, 64405, 64450, 64494, 64536, 64576, 64614, 64652, 64687, 64721, 64754, 64786, 64816, 64845, 64873, 64900,
  64926, 64950, 64974, 64997, 65019, 65039, 65060, 65079, 65097, 65115, 65132, 65149, 65164, 65179, 65194, 65208,
  65221, 65234, 65246, 65258, 65269, 65280, 65291, 65301, 65310, 65319, 65328, 65337, 65345, 65352, 65360, 65367,
  65374, 65381, 65387, 65393, 65399, 65404, 65410, 65415, 65420, 65425, 65429, 65433, 65438, 65442, 65445, 65449,
  65453, 65456, 65459, 65462, 65465, 65468, 65471, 65474, 65476, 65479, 65481, 65483, 65485, 65488, 65489, 65491,
  65493, 65495, 65497, 65498, 65500, 65501, 65503, 65504, 65505, 65507, 65508, 65509, 65510, 65511, 65512, 65513,
  65514, 65515, 65516, 65517, 65517, 65518, 65519, 65520, 65520, 65521, 65522, 65522, 65523, 65523, 65524, 65524,
  65525, 65525, 65526, 65526, 65526, 65527, 65527, 65528, 65528, 65528, 65529, 65529, 65529, 65529, 65530, 65530,
  65530, 65530, 65531, 65531, 65531, 65531, 65531, 65532, 65532, 65532, 65532, 65532, 65532, 65533, 65533, 65533,
  65533, 65533, 65533, 65533, 65533, 65534, 65534, 65534, 65534, 65534, 65534, 65534, 65534, 65534, 65534, 65535,
];

export function sigmoidTableU16(): readonly number[] {
  return SIGMOID_TABLE_U16;
}

const f = Math.fround;

/**
 * TFLite gen_lut<float, int16_t, int16_t>: 513 int16 entries of `func` over [inputMin, inputMax]
 * scaled to [outputMin, outputMax], with each sample biased by half the interpolation error at the
 * midpoint. Every step is float32, as in TFLite.
 */
export function genLutInt16(func: (x: number) => number, inputMin: number, inputMax: number, outputMin: number, outputMax: number): Int16Array {
  const steps = 512;
  const lut = new Int16Array(steps + 1);
  const step = f(f(inputMax - inputMin) / steps);
  const halfStep = f(step / 2);
  const scalingInv = f(65536 / f(outputMax - outputMin));
  const round = (x: number): number => f(roundHalfAwayFromZero(x));
  const clampTable = (x: number): number => Math.min(Math.max(x, -32768), 32767);
  for (let i = 0; i < steps; i++) {
    const at = f(inputMin + f(i * step));
    const val = f(func(at));
    const valMid = f(func(f(at + halfStep)));
    const valNext = f(func(f(inputMin + f((i + 1) * step))));
    const sample = round(f(val * scalingInv));
    const midInterp = round(f(f(f(valNext * scalingInv) + sample) / 2));
    const mid = round(f(valMid * scalingInv));
    const bias = round(f(f(midInterp - mid) / 2));
    lut[i] = clampTable(f(sample - bias));
  }
  lut[steps] = clampTable(round(f(f(func(inputMax)) * scalingInv)));
  return lut;
}

/** TFLite's int16 table lookup: 9 bits index the table, 7 bits interpolate to the next entry. */
export function lutLookupInt16(value: number, lut: Int16Array): number {
  const index = 256 + (value >> 7);
  const offset = value & 0x7f;
  const base = lut[index] as number;
  const slope = (((lut[index + 1] as number) - base) << 16) >> 16;
  const delta = (slope * offset + 64) >> 7;
  return (((base + delta) << 16) >> 16);
}
