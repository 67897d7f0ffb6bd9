// A small, bounds-checked FlexBuffers reader for the `custom_options` of TFLite custom operators
// (TFLite Micro's signal-library ops keep their attributes in a FlexBuffers map). It reads what
// those maps hold: scalars (int, uint, float, bool), strings and vectors of scalars. Every read
// position is checked against the buffer, and nesting is bounded, so a corrupt map fails cleanly.

import type { Fail } from './checked_reader.ts';

export type FlexValue = number | boolean | string | readonly number[] | null;

// FlexBuffers type codes (flexbuffers.h).
const T = {
  NULL: 0,
  INT: 1,
  UINT: 2,
  FLOAT: 3,
  KEY: 4,
  STRING: 5,
  INDIRECT_INT: 6,
  INDIRECT_UINT: 7,
  INDIRECT_FLOAT: 8,
  MAP: 9,
  VECTOR: 10,
  VECTOR_INT: 11,
  VECTOR_UINT: 12,
  VECTOR_FLOAT: 13,
  VECTOR_KEY: 14,
  BOOL: 26,
  VECTOR_BOOL: 36,
} as const;

/** Integers above 2^53 lose precision as numbers; options that large are not meaningful. */
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

class FlexReader {
  private readonly view: DataView;

  constructor(
    readonly bytes: Uint8Array,
    readonly fail: Fail,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  need(pos: number, len: number, what: string): void {
    if (!(Number.isSafeInteger(pos) && pos >= 0 && pos + len <= this.bytes.length)) {
      this.fail(`custom options: ${what} at byte ${pos} lies outside the ${this.bytes.length}-byte buffer`);
    }
  }

  uint(pos: number, width: number, what: string): bigint {
    this.need(pos, width, what);
    switch (width) {
      case 1:
        return BigInt(this.view.getUint8(pos));
      case 2:
        return BigInt(this.view.getUint16(pos, true));
      case 4:
        return BigInt(this.view.getUint32(pos, true));
      default:
        return this.view.getBigUint64(pos, true);
    }
  }

  int(pos: number, width: number, what: string): bigint {
    this.need(pos, width, what);
    switch (width) {
      case 1:
        return BigInt(this.view.getInt8(pos));
      case 2:
        return BigInt(this.view.getInt16(pos, true));
      case 4:
        return BigInt(this.view.getInt32(pos, true));
      default:
        return this.view.getBigInt64(pos, true);
    }
  }

  float(pos: number, width: number, what: string): number {
    this.need(pos, width, what);
    if (width === 4) return this.view.getFloat32(pos, true);
    if (width === 8) return this.view.getFloat64(pos, true);
    return this.fail(`custom options: ${what} is a float of ${width} bytes`);
  }

  number(v: bigint, what: string): number {
    if (v > MAX_SAFE || v < -MAX_SAFE) this.fail(`custom options: ${what} is ${v}, too large to use`);
    return Number(v);
  }

  /** The target of an offset stored at `pos` (offsets point backwards). */
  deref(pos: number, width: number, what: string): number {
    const target = pos - this.number(this.uint(pos, width, what), what);
    this.need(target, 0, `${what} target`);
    return target;
  }

  /** A null-terminated key string starting at `pos`. */
  key(pos: number, what: string): string {
    let end = pos;
    for (;;) {
      this.need(end, 1, what);
      if (this.bytes[end] === 0) break;
      end++;
    }
    return new TextDecoder().decode(this.bytes.subarray(pos, end));
  }

  /** A scalar or vector value stored `parentWidth` bytes wide at `pos`, of packed type `packed`. */
  value(pos: number, parentWidth: number, packed: number, what: string): FlexValue {
    const type = packed >> 2;
    const width = 1 << (packed & 3);
    switch (type) {
      case T.NULL:
        return null;
      case T.INT:
        return this.number(this.int(pos, parentWidth, what), what);
      case T.UINT:
        return this.number(this.uint(pos, parentWidth, what), what);
      case T.BOOL:
        return this.uint(pos, parentWidth, what) !== 0n;
      case T.FLOAT:
        return this.float(pos, parentWidth, what);
      case T.INDIRECT_INT:
        return this.number(this.int(this.deref(pos, parentWidth, what), width, what), what);
      case T.INDIRECT_UINT:
        return this.number(this.uint(this.deref(pos, parentWidth, what), width, what), what);
      case T.INDIRECT_FLOAT:
        return this.float(this.deref(pos, parentWidth, what), width, what);
      case T.KEY:
        return this.key(this.deref(pos, parentWidth, what), what);
      case T.STRING: {
        const s = this.deref(pos, parentWidth, what);
        const n = this.number(this.uint(s - width, width, `${what} length`), what);
        this.need(s, n, what);
        return new TextDecoder().decode(this.bytes.subarray(s, s + n));
      }
      case T.VECTOR_INT:
      case T.VECTOR_UINT:
      case T.VECTOR_FLOAT:
      case T.VECTOR_BOOL: {
        const v = this.deref(pos, parentWidth, what);
        const n = this.number(this.uint(v - width, width, `${what} length`), what);
        this.need(v, n * width, what);
        const out: number[] = [];
        for (let i = 0; i < n; i++) {
          const at = v + i * width;
          if (type === T.VECTOR_FLOAT) out.push(this.float(at, width, what));
          else if (type === T.VECTOR_INT) out.push(this.number(this.int(at, width, what), what));
          else out.push(this.number(this.uint(at, width, what), what));
        }
        return out;
      }
      default:
        return this.fail(`custom options: ${what} has FlexBuffers type ${type}, which tinyforge does not read`);
    }
  }
}

/**
 * Reads a FlexBuffers buffer whose root is a map, as TFLite custom options are; returns its
 * entries by key. Fails (through `fail`) on anything malformed.
 */
export function readFlexMap(bytes: Uint8Array, fail: Fail): ReadonlyMap<string, FlexValue> {
  const r = new FlexReader(bytes, fail);
  if (bytes.length < 3) fail(`custom options: ${bytes.length} bytes are too few for a FlexBuffers root`);
  const rootWidth = bytes[bytes.length - 1] as number;
  const rootPacked = bytes[bytes.length - 2] as number;
  if (![1, 2, 4, 8].includes(rootWidth)) fail(`custom options: root width ${rootWidth} is not 1, 2, 4 or 8`);
  if (rootPacked >> 2 !== T.MAP) fail(`custom options: the root has FlexBuffers type ${rootPacked >> 2}, not a map`);
  const rootPos = bytes.length - 2 - rootWidth;
  const map = r.deref(rootPos, rootWidth, 'root map');
  const width = 1 << (rootPacked & 3);
  const n = r.number(r.uint(map - width, width, 'map length'), 'map length');
  const keysAt = r.deref(map - 3 * width, width, 'map keys');
  const keyWidth = r.number(r.uint(map - 2 * width, width, 'map key width'), 'map key width');
  if (![1, 2, 4, 8].includes(keyWidth)) fail(`custom options: key width ${keyWidth} is not 1, 2, 4 or 8`);
  const keyCount = r.number(r.uint(keysAt - keyWidth, keyWidth, 'key count'), 'key count');
  if (keyCount !== n) fail(`custom options: the map has ${n} values but ${keyCount} keys`);
  r.need(map, n * width + n, 'map values');
  const out = new Map<string, FlexValue>();
  for (let i = 0; i < n; i++) {
    const key = r.key(r.deref(keysAt + i * keyWidth, keyWidth, `key ${i}`), `key ${i}`);
    const packed = bytes[map + n * width + i] as number;
    out.set(key, r.value(map + i * width, width, packed, `'${key}'`));
  }
  return out;
}
