// Consistent Overhead Byte Stuffing with 0x00 as the frame delimiter (docs/protocol.md, section 1).
// The encoder emits the canonical form (no trailing code byte after a final block of 254 non-zero
// bytes); the decoder also accepts a trailing 0x01 code.

import { TransportError } from '../transport/serial_transport.ts';

/** Bytes that cannot be COBS-decoded. Carries the offset of the offending byte. */
export class CobsError extends TransportError {
  constructor(
    detail: string,
    readonly offset: number,
  ) {
    super(`COBS: ${detail} at byte ${offset}`);
    this.name = 'CobsError';
  }
}

/** Upper bound of the encoded size of `n` bytes (the C side's TF_COBS_MAX_ENCODED). */
export function cobsMaxEncodedLength(n: number): number {
  return n + Math.floor(n / 254) + 1;
}

/** COBS encoding of `data`, without delimiters. Contains no 0x00; at least one byte long. */
export function cobsEncode(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(cobsMaxEncodedLength(data.byteLength));
  let codePos = 0;
  let w = 1;
  let code = 1;
  let blockOpen = true;
  for (let i = 0; i < data.byteLength; i++) {
    const b = data[i] as number;
    if (b === 0) {
      out[codePos] = code;
      codePos = w++;
      code = 1;
      continue;
    }
    out[w++] = b;
    code++;
    if (code === 0xff) {
      out[codePos] = code;
      code = 1;
      if (i + 1 < data.byteLength) {
        codePos = w++;
      } else {
        blockOpen = false;
      }
    }
  }
  if (blockOpen) out[codePos] = code;
  return out.slice(0, w);
}

/** Decodes COBS bytes (no delimiters). Throws CobsError on a 0x00 or a block running past the end. */
export function cobsDecode(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(data.byteLength);
  let r = 0;
  let w = 0;
  while (r < data.byteLength) {
    const code = data[r] as number;
    if (code === 0) throw new CobsError('unexpected 0x00', r);
    if (r + code > data.byteLength) throw new CobsError(`block of ${code - 1} bytes runs past the end`, r);
    r++;
    for (let k = 1; k < code; k++, r++) {
      const b = data[r] as number;
      if (b === 0) throw new CobsError('unexpected 0x00', r);
      out[w++] = b;
    }
    if (code !== 0xff && r < data.byteLength) out[w++] = 0;
  }
  return out.slice(0, w);
}
