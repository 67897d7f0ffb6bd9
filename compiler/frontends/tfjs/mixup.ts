// Mixup inputs for distillation by function matching (Beyer et al. 2022, "Knowledge distillation:
// A good teacher is patient and consistent"): on a small labelled set the teacher's knowledge is
// only seen at the training points; mixing two of them gives new points where the teacher still
// has something to say, a fresh set every step. The same mixed input goes to teacher and student.

/**
 * Mixup partners of one batch: sample k becomes lambda_k * x[idx[k]] + (1 - lambda_k) * x[idx[p_k]],
 * p a random permutation of the batch and lambda_k uniform in [0, 1) (Beta(1, 1)), both drawn from
 * `next`. Labels are not mixed: the teacher says what a mixed input is.
 */
export function mixupBatch(x: readonly Float32Array[], idx: readonly number[], next: () => number): Float32Array[] {
  const partner = idx.map((_, k) => k);
  for (let k = partner.length - 1; k > 0; k--) {
    const j = Math.floor(next() * (k + 1));
    [partner[k], partner[j]] = [partner[j] as number, partner[k] as number];
  }
  return idx.map((i, k) => {
    const a = x[i] as Float32Array;
    const b = x[idx[partner[k] as number] as number] as Float32Array;
    const lambda = next();
    const out = new Float32Array(a.length);
    for (let e = 0; e < a.length; e++) out[e] = lambda * (a[e] as number) + (1 - lambda) * (b[e] as number);
    return out;
  });
}
