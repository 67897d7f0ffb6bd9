// Byte-for-byte comparison of outputs, reported the way a firmware engineer debugs a mismatch.

export interface OutputComparison {
  output: number;
  bytes: number;
  differing: number;
  firstIndex: number | null;
  expected: number | null;
  actual: number | null;
}

export interface CaseResult {
  id: string;
  pass: boolean;
  outputs: OutputComparison[];
}

/** Compares as int8 values (the models' output type), reporting the first differing index. */
export function compareOutputs(id: string, expected: readonly Uint8Array[], actual: readonly Uint8Array[]): CaseResult {
  const outputs = expected.map((exp, o): OutputComparison => {
    const act = actual[o] ?? new Uint8Array(0);
    const n = Math.max(exp.byteLength, act.byteLength);
    let differing = 0;
    let firstIndex: number | null = null;
    for (let i = 0; i < n; i++) {
      if (exp[i] !== act[i]) {
        differing++;
        if (firstIndex === null) firstIndex = i;
      }
    }
    const asInt8 = (b: Uint8Array, i: number | null): number | null => (i === null || i >= b.byteLength ? null : ((b[i] as number) << 24) >> 24);
    return { output: o, bytes: exp.byteLength, differing, firstIndex, expected: asInt8(exp, firstIndex), actual: asInt8(act, firstIndex) };
  });
  return { id, pass: outputs.every((o) => o.differing === 0) && actual.length === expected.length, outputs };
}
