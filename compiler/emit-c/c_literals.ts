// Formatting of C literals and identifiers for generated code.

/** A C identifier from an arbitrary model name: lowercase, [a-z0-9_], not starting with a digit. */
/** What a symbol prefix (--prefix, the config's "prefix") must look like: it names files and C symbols. */
export const C_IDENTIFIER_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;

const C99_KEYWORDS = new Set(
  ('auto break case char const continue default do double else enum extern float for goto if inline int long register restrict return ' +
    'short signed sizeof static struct switch typedef union unsigned void volatile while _Bool _Complex _Imaginary').split(' '),
);

/** Why `prefix` cannot be a symbol prefix, or undefined when it can. */
export function prefixProblem(prefix: string): string | undefined {
  if (!C_IDENTIFIER_PATTERN.test(prefix)) return 'must be a C identifier (letters, digits and _, not starting with a digit)';
  if (C99_KEYWORDS.has(prefix)) return 'is a C keyword';
  return undefined;
}

export function cIdentifier(name: string): string {
  let id = name.toLowerCase().replace(/[^a-z0-9_]+/g, '_').replace(/^_+|_+$/g, '');
  if (id === '' || /^[0-9]/.test(id)) id = `m_${id}`;
  return id;
}

/** Comma-separated values, `perLine` to a line, indented for an array initializer. */
export function arrayBody(values: ArrayLike<number>, perLine = 24): string {
  const lines: string[] = [];
  for (let i = 0; i < values.length; i += perLine) {
    const row: string[] = [];
    for (let j = i; j < Math.min(values.length, i + perLine); j++) row.push(int32Literal(values[j] as number));
    lines.push(`    ${row.join(', ')},`);
  }
  return lines.join('\n');
}

/** INT32_MIN cannot be written as a plain negative literal in C. */
export function int32Literal(v: number): string {
  return v === -2147483648 ? '(-2147483647 - 1)' : String(v);
}

/** A float32 value printed so that it parses back to the same float. */
export function floatLiteral(v: number): string {
  if (!Number.isFinite(v)) return '0.0f';
  for (let digits = 6; digits <= 9; digits++) {
    const s = v.toPrecision(digits);
    if (Math.fround(Number(s)) === Math.fround(v)) return `${s.includes('e') || s.includes('.') ? s : `${s}.0`}f`;
  }
  return `${v}f`;
}


/** A float32 value as a C expression with exactly its bits (hex float literal; -0, infinities and NaN included). */
export function f32Literal(v: number): string {
  const x = Math.fround(v);
  if (Number.isNaN(x)) return '(0.0f / 0.0f)';
  // Infinities as a constant expression that overflows (a too-large literal would be a warning).
  if (x === Infinity) return '(3.40282347e+38f * 2.0f)';
  if (x === -Infinity) return '(-3.40282347e+38f * 2.0f)';
  if (x === 0) return Object.is(x, -0) ? '-0.0f' : '0.0f';
  return `${x < 0 ? '-' : ''}${hexFloat(Math.abs(x))}f`;
}

/** A positive finite double as a C99 hexadecimal floating constant (exact). */
function hexFloat(v: number): string {
  let e = Math.floor(Math.log2(v));
  // log2 can be off by one near powers of two; settle so that 1 <= m < 2.
  while (v / 2 ** e >= 2) e++;
  while (v / 2 ** e < 1) e--;
  if (e < -1022) {
    const m = v / 2 ** -1022;
    return `0x${mantissaHex(m, 0)}p-1022`;
  }
  return `0x${mantissaHex(v / 2 ** e, 1)}p${e}`;
}

/** `m` (lead + fraction, lead 0 or 1) as "L.FFFF..." in hex, trailing zeros dropped. */
function mantissaHex(m: number, lead: 0 | 1): string {
  let frac = m - lead;
  let digits = '';
  for (let i = 0; i < 13 && frac > 0; i++) {
    frac *= 16;
    const d = Math.floor(frac);
    digits += d.toString(16);
    frac -= d;
  }
  return digits === '' ? `${lead}` : `${lead}.${digits}`;
}

/** A C comment that cannot be closed early by its contents. */
export function safeComment(text: string): string {
  return text.replace(/\*\//g, '* /').replace(/[\r\n]+/g, ' ');
}
