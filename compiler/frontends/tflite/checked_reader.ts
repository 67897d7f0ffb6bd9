// Bounds-checked access to a flatbuffer. The flatbuffers JS runtime reads past the end of its
// buffer without complaint (yielding garbage or undefined), so every position is checked here
// before the ByteBuffer primitive read. All failures go through `fail`, which throws a ModelError.

import { ByteBuffer } from 'flatbuffers';

export type Fail = (detail: string) => never;

export function hex(n: number): string {
  return n < 0 ? `-0x${(-n).toString(16)}` : `0x${n.toString(16)}`;
}

/** A name quoted for a one-line error message: control characters escaped, long names cut. */
export function quote(s: string): string {
  let out = '';
  for (const ch of s) {
    const c = ch.codePointAt(0) ?? 0;
    if (c < 0x20 || c === 0x7f || (c >= 0x80 && c < 0xa0) || c === 0x2028 || c === 0x2029) {
      out += `\\x${c.toString(16).padStart(2, '0')}`;
    } else if (ch === "'" || ch === '\\') {
      out += `\\${ch}`;
    } else {
      out += ch;
    }
    if (out.length > 100) {
      out += '...';
      break;
    }
  }
  return `'${out}'`;
}

const utf8 = new TextDecoder('utf-8', { fatal: false });

export class CheckedReader {
  readonly bb: ByteBuffer;
  readonly size: number;
  /** Vector elements and tables read so far; capped so that overlapping structures cannot blow up the work. */
  private work = 0;
  private readonly workLimit: number;

  constructor(
    readonly bytes: Uint8Array,
    readonly fail: Fail,
  ) {
    this.bb = new ByteBuffer(bytes);
    this.size = bytes.length;
    this.workLimit = 16 * bytes.length + 65536;
  }

  /** Ensures that `len` bytes at `pos` lie inside the file. */
  need(pos: number, len: number, what: string): void {
    if (!(Number.isSafeInteger(pos) && Number.isSafeInteger(len) && pos >= 0 && len >= 0 && pos + len <= this.size)) {
      this.fail(`truncated: ${what} at offset ${hex(pos)} runs past end of file (${this.size} bytes)`);
    }
  }

  /** Accounts for `n` units of reading work and fails once the file has made us do far more than its size warrants. */
  charge(n: number, what: string): void {
    this.work += n;
    if (this.work > this.workLimit) {
      this.fail(
        `corrupt: ${what} makes the reader visit more than ${this.workLimit} items in a ${this.size}-byte file (structures overlap or repeat)`,
      );
    }
  }

  u8(pos: number, what: string): number {
    this.need(pos, 1, what);
    return this.bb.readUint8(pos);
  }
  i8(pos: number, what: string): number {
    this.need(pos, 1, what);
    return this.bb.readInt8(pos);
  }
  u16(pos: number, what: string): number {
    this.need(pos, 2, what);
    return this.bb.readUint16(pos);
  }
  i32(pos: number, what: string): number {
    this.need(pos, 4, what);
    return this.bb.readInt32(pos);
  }
  u32(pos: number, what: string): number {
    this.need(pos, 4, what);
    return this.bb.readUint32(pos);
  }
  f32(pos: number, what: string): number {
    this.need(pos, 4, what);
    return this.bb.readFloat32(pos);
  }
  i64(pos: number, what: string): bigint {
    this.need(pos, 8, what);
    return this.bb.readInt64(pos);
  }
  u64(pos: number, what: string): bigint {
    this.need(pos, 8, what);
    return this.bb.readUint64(pos);
  }

  /** Follows the unsigned offset stored at `pos` and returns the absolute position it refers to. */
  deref(pos: number, what: string): number {
    const rel = this.u32(pos, `${what} reference`);
    const target = pos + rel;
    if (target >= this.size) {
      this.fail(
        `truncated: ${what} at offset ${hex(target)} (referenced from ${hex(pos)}) lies past end of file (${this.size} bytes)`,
      );
    }
    return target;
  }

  /** Opens the table at `pos`, validating its vtable. */
  table(pos: number, what: string): Table {
    this.charge(1, what);
    const soff = this.i32(pos, what);
    const vtable = pos - soff;
    if (vtable < 0) {
      this.fail(`corrupt: ${what} at offset ${hex(pos)} has its vtable at offset ${hex(vtable)}, before the start of the file`);
    }
    if (vtable + 4 > this.size) {
      this.fail(
        `truncated: ${what} at offset ${hex(pos)} has its vtable at offset ${hex(vtable)}, outside the file (${this.size} bytes)`,
      );
    }
    const vtSize = this.u16(vtable, `${what} vtable`);
    if (vtSize < 4 || vtSize % 2 !== 0) {
      this.fail(`corrupt: ${what} at offset ${hex(pos)} has a vtable of ${vtSize} bytes (must be even and at least 4)`);
    }
    this.need(vtable, vtSize, `${what} vtable`);
    return new Table(this, pos, vtable, vtSize, what);
  }

  /** Opens the table referenced by the offset stored at `pos`. */
  tableAt(pos: number, what: string): Table {
    return this.table(this.deref(pos, what), what);
  }

  /** Opens the vector referenced by the offset stored at `pos`. */
  vectorAt(pos: number, elemSize: number, what: string): Vec {
    const start = this.deref(pos, what);
    const len = this.u32(start, `${what} length`);
    const bytes = len * elemSize;
    if (start + 4 + bytes > this.size) {
      this.fail(
        `truncated: ${what} at offset ${hex(start)} (${len} elements) runs past end of file (${this.size} bytes)`,
      );
    }
    return new Vec(this, start, len, elemSize, what);
  }
}

/** A flatbuffer vector whose whole extent has been checked to lie inside the file. */
export class Vec {
  constructor(
    readonly r: CheckedReader,
    /** Position of the length word; elements start 4 bytes later. */
    readonly pos: number,
    readonly length: number,
    readonly elemSize: number,
    readonly what: string,
  ) {}

  /** Absolute position of element i. */
  elem(i: number): number {
    return this.pos + 4 + i * this.elemSize;
  }

  int32s(): number[] {
    this.r.charge(this.length, this.what);
    const out = new Array<number>(this.length);
    for (let i = 0; i < this.length; i++) out[i] = this.r.bb.readInt32(this.elem(i));
    return out;
  }

  float32s(): number[] {
    this.r.charge(this.length, this.what);
    const out = new Array<number>(this.length);
    for (let i = 0; i < this.length; i++) out[i] = this.r.bb.readFloat32(this.elem(i));
    return out;
  }

  int64s(): bigint[] {
    this.r.charge(this.length, this.what);
    const out = new Array<bigint>(this.length);
    for (let i = 0; i < this.length; i++) out[i] = this.r.bb.readInt64(this.elem(i));
    return out;
  }

  /** The bytes of a ubyte vector (a view into the file, not a copy). */
  bytes(): Uint8Array {
    this.r.charge(1, this.what);
    const start = this.elem(0);
    return this.r.bytes.subarray(start, start + this.length * this.elemSize);
  }

  /** Opens the table that element i (an offset) refers to. */
  table(i: number, what: string): Table {
    return this.r.tableAt(this.elem(i), what);
  }
}

/** A flatbuffer table with a validated vtable. Fields are addressed by their schema id. */
export class Table {
  constructor(
    readonly r: CheckedReader,
    readonly pos: number,
    private readonly vtable: number,
    private readonly vtSize: number,
    readonly what: string,
  ) {}

  /** Absolute position of field `id`, or undefined when the field is absent (default value). */
  fieldPos(id: number): number | undefined {
    const slot = 4 + 2 * id;
    if (slot + 2 > this.vtSize) return undefined;
    const off = this.r.bb.readUint16(this.vtable + slot);
    return off === 0 ? undefined : this.pos + off;
  }

  has(id: number): boolean {
    return this.fieldPos(id) !== undefined;
  }

  i8(id: number, def: number, name: string): number {
    const p = this.fieldPos(id);
    return p === undefined ? def : this.r.i8(p, `${this.what} ${name}`);
  }
  u8(id: number, def: number, name: string): number {
    const p = this.fieldPos(id);
    return p === undefined ? def : this.r.u8(p, `${this.what} ${name}`);
  }
  bool(id: number, def: boolean, name: string): boolean {
    const p = this.fieldPos(id);
    return p === undefined ? def : this.r.u8(p, `${this.what} ${name}`) !== 0;
  }
  i32(id: number, def: number, name: string): number {
    const p = this.fieldPos(id);
    return p === undefined ? def : this.r.i32(p, `${this.what} ${name}`);
  }
  u32(id: number, def: number, name: string): number {
    const p = this.fieldPos(id);
    return p === undefined ? def : this.r.u32(p, `${this.what} ${name}`);
  }
  f32(id: number, def: number, name: string): number {
    const p = this.fieldPos(id);
    return p === undefined ? def : this.r.f32(p, `${this.what} ${name}`);
  }
  u64(id: number, def: bigint, name: string): bigint {
    const p = this.fieldPos(id);
    return p === undefined ? def : this.r.u64(p, `${this.what} ${name}`);
  }

  table(id: number, name: string): Table | undefined {
    const p = this.fieldPos(id);
    return p === undefined ? undefined : this.r.tableAt(p, `${this.what} ${name}`);
  }

  vector(id: number, elemSize: number, name: string): Vec | undefined {
    const p = this.fieldPos(id);
    return p === undefined ? undefined : this.r.vectorAt(p, elemSize, `${this.what} ${name} vector`);
  }

  string(id: number, name: string): string | undefined {
    const p = this.fieldPos(id);
    if (p === undefined) return undefined;
    const v = this.r.vectorAt(p, 1, `${this.what} ${name} string`);
    this.r.charge(v.length, v.what);
    return utf8.decode(v.bytes());
  }

  int32s(id: number, name: string): number[] | undefined {
    return this.vector(id, 4, name)?.int32s();
  }
}
