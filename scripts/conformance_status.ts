// Quick status of the conformance suite on the TypeScript reference: `npx tsx scripts/conformance_status.ts [OP ...]`.
import { compileModel, loadModel } from '../compiler/compile.ts';
import { ReferenceState, runReference } from '../compiler/reference/run_reference.ts';
import { conformanceCases, conformanceSequences, conformanceVariants } from '../test/helpers/conformance.ts';
const ops = process.argv.slice(2);
let pass = 0, fail = 0, err = 0;
for (const v of conformanceVariants()) {
  if (ops.length && !ops.includes(v.op)) continue;
  try {
    const c = compileModel(loadModel(v.model));
    const cases = conformanceCases(v);
    let ok = 0;
    for (const k of cases) {
      const out = runReference(c.model.graph, c.layers, k.inputs);
      if (out.every((o, i) => Buffer.compare(Buffer.from(o), Buffer.from(k.expected[i]!)) === 0)) ok++;
    }
    // Sequence cases run on one ReferenceState, as one interpreter invoked step after step.
    const seqs = conformanceSequences(v);
    let seqOk = 0;
    for (const s of seqs) {
      const state = new ReferenceState(c.model.graph);
      const bad = s.steps.findIndex((k) => !runReference(c.model.graph, c.layers, k.inputs, state).every((o, i) => Buffer.compare(Buffer.from(o), Buffer.from(k.expected[i]!)) === 0));
      if (bad < 0) seqOk++; else console.log('     ', v.id, s.id, 'first wrong step', bad);
    }
    if (ok === cases.length && seqOk === seqs.length) pass++; else { fail++; console.log('FAIL', v.id, `${ok}/${cases.length}`, seqs.length ? `sequences ${seqOk}/${seqs.length}` : ''); }
  } catch (e) { err++; console.log('ERR ', v.id, (e as Error).message.slice(0, 150)); }
}
console.log({ pass, fail, err });
