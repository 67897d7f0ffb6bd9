// Random test inputs, generated exactly as ../shared/golden's random cases were (xorshift32),
// so seed k here reproduces golden case rand<k> byte for byte.

import { TinyforgeError } from '../errors.ts';
import type { IoSummary } from '../compile.ts';

export function randomInputs(inputs: readonly IoSummary[], seed: number): Uint8Array[] {
  let s = (0x9e3779b9 ^ (seed + 1)) >>> 0;
  const next = (): number => {
    s = (s ^ (s << 13)) >>> 0;
    s = (s ^ (s >>> 17)) >>> 0;
    s = (s ^ (s << 5)) >>> 0;
    return s;
  };
  return inputs.map((io) => {
    const bytes = new Uint8Array(io.bytes);
    if (io.dtype === 'int8' || io.dtype === 'uint8') {
      for (let i = 0; i < bytes.length; i++) bytes[i] = next() & 0xff;
    } else if (io.dtype === 'int16') {
      const view = new DataView(bytes.buffer);
      for (let i = 0; i < bytes.length / 2; i++) view.setUint16(i * 2, next() & 0xffff, true);
    } else if (io.dtype === 'float32') {
      // Uniform in [-1, 1), as the goldens' float32 inputs: ((s >> 8) / 2^24) * 2 - 1, exact in float32.
      const view = new DataView(bytes.buffer);
      for (let i = 0; i < bytes.length / 4; i++) view.setFloat32(i * 4, ((next() >>> 8) / 16777216) * 2 - 1, true);
    } else {
      throw new TinyforgeError(`random inputs are defined for int8, uint8, int16 and float32 tensors; input '${io.name}' is ${io.dtype}`);
    }
    return bytes;
  });
}
